#!/usr/bin/env bash
# Build kernels-rs/ with wasm-pack (wasm-bindgen, --target web) and write the
# output to libs/core/src/backends/wasm/pkg/ (committed), or to the directory
# given as $1.
#
# Reproducible: same toolchain + same sources => byte-identical output (checked
# by scripts/check-kernels-fresh.sh). Toolchain: scripts/install-rust-wasm.sh.
#
# Output files (the glue is plain ESM; libs/core/package.json has "type": "module"):
#   unilab_kernels.js            wasm-bindgen glue (initSync / default init)
#   unilab_kernels.d.ts          its types
#   unilab_kernels_bg.wasm       the module
#   unilab_kernels_bg.wasm.d.ts  raw export types
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CRATE="$ROOT/kernels-rs"
OUT="${1:-$ROOT/libs/core/src/backends/wasm/pkg}"
NAME="unilab_kernels"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"

# Debian's rustc/cargo (/usr/bin) must come before rustup's proxies: wasm-pack
# runs the `rustc` on PATH to find the wasm32 target libdir, and rustup's
# toolchains here have no wasm32 target. wasm-pack/wasm-bindgen live in $CARGO_BIN.
export PATH="/usr/bin:$CARGO_BIN:$PATH"
export RUSTC=/usr/bin/rustc
export CARGO=/usr/bin/cargo
unset RUSTUP_TOOLCHAIN
# build-std ([unstable] in kernels-rs/.cargo/config.toml) on a stable toolchain.
export RUSTC_BOOTSTRAP=1
# Flags come only from kernels-rs/.cargo/config.toml (env flags would replace them).
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET
# wasm-pack: never try to download anything.
export WASM_PACK_CACHE="${WASM_PACK_CACHE:-${TMPDIR:-/tmp}/wasm-pack-cache}"

for tool in wasm-pack wasm-bindgen wasm-ld; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build-kernels: '$tool' not found; run scripts/install-rust-wasm.sh" >&2
    exit 1
  fi
done
WB_LOCK="$(awk '
  /^\[\[package\]\]/ { name = "" }
  /^name = / { gsub(/"/, "", $3); name = $3 }
  /^version = / && name == "wasm-bindgen" { gsub(/"/, "", $3); print $3; exit }
' "$CRATE/Cargo.lock")"
WB_CLI="$(wasm-bindgen --version | awk '{print $2}')"
if [ "$WB_LOCK" != "$WB_CLI" ]; then
  echo "build-kernels: wasm-bindgen CLI is $WB_CLI but Cargo.lock has $WB_LOCK; run scripts/install-rust-wasm.sh" >&2
  exit 1
fi

STAGE="$(mktemp -d "${TMPDIR:-/tmp}/build-kernels.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT

# --no-pack: no package.json/README (the pkg dir is not an npm package; a stray
# package.json under libs/ would look like a workspace project to tools).
# --mode no-install: use the wasm-bindgen on PATH, never download or install one.
wasm-pack --quiet build "$CRATE" --mode no-install \
  --release --target web --no-pack --no-gitignore --no-opt \
  --out-dir "$STAGE/pkg" --out-name "$NAME" \
  -- --locked >"$STAGE/log" 2>&1 || { cat "$STAGE/log" >&2; echo "build-kernels: wasm-pack failed" >&2; exit 1; }

for f in "$NAME.js" "$NAME.d.ts" "${NAME}_bg.wasm" "${NAME}_bg.wasm.d.ts"; do
  if [ ! -f "$STAGE/pkg/$f" ]; then
    echo "build-kernels: wasm-pack did not produce $f" >&2
    ls -la "$STAGE/pkg" >&2
    exit 1
  fi
done
# Keep exactly the four generated files.
mkdir -p "$STAGE/final"
for f in "$NAME.js" "$NAME.d.ts" "${NAME}_bg.wasm" "${NAME}_bg.wasm.d.ts"; do
  cp "$STAGE/pkg/$f" "$STAGE/final/$f"
done

mkdir -p "$(dirname "$OUT")"
rm -rf "$OUT"
cp -r "$STAGE/final" "$OUT"
echo "build-kernels: wrote $OUT ($(wc -c <"$OUT/${NAME}_bg.wasm") byte wasm, wasm-bindgen $WB_CLI)"
