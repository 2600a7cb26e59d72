#!/usr/bin/env bash
# The part of the suite that CI runs a second time under Deno 2 (npm's `deno` package), with vitest itself running
# inside Deno: the core (backends, autodiff, kernels), the data library, and training end to end (resume, backends).
set -euo pipefail
cd "$(dirname "$0")/.."
export UNILAB_EXPECT_RUNTIME=deno
deno_vitest() { npx deno run -A --conditions=development node_modules/vitest/vitest.mjs run "$@"; }
deno_vitest --root libs/core
deno_vitest --root libs/data
deno_vitest --root libs/runner test/resume.test.ts test/backend-agreement.test.ts test/webgpu-training.test.ts
