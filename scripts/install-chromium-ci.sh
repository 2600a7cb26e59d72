#!/usr/bin/env bash
# Debian's Chromium for the dashboard's browser test (apps/dashboard/test/browser.test.ts drives it with
# playwright-core through executablePath; playwright's own browser download cannot reach its servers here).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "chromium: $(chromium --version 2>/dev/null || echo present)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "chromium: $(chromium --version)"
