#!/usr/bin/env bash
# Debian's redis-server (Redis 7) for the Redis backend's tests (apps/api/test/redis-scale-out.test.ts starts its
# own on a free port with a temporary directory; the system service is not used, so it is stopped if apt started it).
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  (systemctl stop redis-server 2>/dev/null || service redis-server stop 2>/dev/null || true) >/dev/null
fi
echo "redis-server: $(redis-server --version)"
