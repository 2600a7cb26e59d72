#!/usr/bin/env bash
# Build .bench-gpu/: everything bench/gpu.sh needs on a GPU machine that has no Node, no Deno and no network, in
# compressed archives well under the 64 MiB that travel with the working tree (about 30 MiB):
#   node.xz                this machine's Node binary (the version the bundle is built and tested with)
#   app.tar.xz             app/bench.mjs: bench/gpu/webgpu-bench.ts bundled with unilab's sources by esbuild, and
#                          app/node_modules/webgpu: the npm package's index.js and dist/linux-x64/dawn.node (Dawn)
#   deb/libvulkan1_*.deb   the Vulkan loader, which dawn.node opens at run time (unpacked there only if missing)
# Run here, from anywhere, after `npm install`. Idempotent: rebuilds .bench-gpu/ from scratch each time.
# .bench-gpu/ is ignored through .git/info/exclude (the device tool carries ignored paths named in `carry`).
set -euo pipefail
cd "$(dirname "$0")/../.."
CARRY=.bench-gpu
log() { printf '[bench-gpu prepare] %s\n' "$*" >&2; }

grep -qx '/.bench-gpu/' .git/info/exclude 2>/dev/null || echo '/.bench-gpu/' >>.git/info/exclude
rm -rf "$CARRY"
mkdir -p "$CARRY/deb" "$CARRY/stage/app/node_modules/webgpu/dist/linux-x64"

log "bundling bench/gpu/webgpu-bench.ts (esbuild, development conditions: unilab from its TypeScript sources)"
npx --no-install esbuild bench/gpu/webgpu-bench.ts --bundle --platform=node --format=esm --target=node20 \
  --conditions=development --external:webgpu --log-level=warning \
  "--banner:js=import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" \
  --outfile="$CARRY/stage/app/bench.mjs"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$CARRY/stage/app/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$CARRY/stage/app/node_modules/webgpu/dist/linux-x64/"
tar -C "$CARRY/stage" -cf - app | xz -T2 -6 >"$CARRY/app.tar.xz"
rm -rf "$CARRY/stage"

log "compressing $(command -v node) ($(node --version))"
xz -T2 -6 -c "$(command -v node)" >"$CARRY/node.xz"

log "downloading the Vulkan loader .deb (libvulkan1, amd64)"
if ! (cd "$CARRY/deb" && apt-get download libvulkan1 >/dev/null 2>&1); then
  apt-get update -qq >&2
  (cd "$CARRY/deb" && apt-get download libvulkan1 >&2)
fi

du -sh "$CARRY"/* >&2
log "done: $(du -sh "$CARRY" | cut -f1). On the GPU machine: bash bench/gpu.sh (device tool: carry [\"$CARRY\"], timeout_s 540)"
