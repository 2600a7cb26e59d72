#!/usr/bin/env bash
# Build kernels-rs/ twice with wasm-pack (wasm-bindgen's `web` output) and write the two packages to
# libs/core/src/backends/wasm/pkg/ (committed), or to the directory given as $1:
#
#   simd128/   SIMD128, threads (shared memory)     every engine with wasm threads
#   relaxed/   the same + relaxed-SIMD FMA           chosen at load when the engine validates it
#
# each holding unilab_kernels_bg.wasm, wasm-bindgen's glue unilab_kernels.js, its TypeScript declarations
# (unilab_kernels.d.ts, unilab_kernels_bg.wasm.d.ts) and wasm-pack's package.json.
#
# Reproducible: same toolchain + same sources => byte-identical output (checked by
# scripts/check-kernels-fresh.sh). Toolchain: scripts/install-rust-wasm.sh (Debian's rustc-web, wasm-pack and
# wasm-bindgen-cli pinned from crates.io).
# Environment: CARGO_TARGET_DIR (default kernels-rs/target) holds the two builds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CRATE="$ROOT/kernels-rs"
OUT="${1:-$ROOT/libs/core/src/backends/wasm/pkg}"
TARGET_DIR="${CARGO_TARGET_DIR:-$CRATE/target}"
NAME="unilab_kernels"

for tool in /usr/bin/rustc /usr/bin/cargo; do
  if [ ! -x "$tool" ]; then
    echo "build-kernels: $tool not found; run scripts/install-rust-wasm.sh" >&2
    exit 1
  fi
done
if ! command -v wasm-ld >/dev/null 2>&1; then
  echo "build-kernels: wasm-ld not found; run scripts/install-rust-wasm.sh" >&2
  exit 1
fi

STAGE="$(mktemp -d "${TMPDIR:-/tmp}/build-kernels.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT

# wasm-pack runs `cargo` and `rustc` from PATH: they must be Debian's (rustc-web), since rustup's toolchains here have
# no wasm32 target. A directory with just those two goes first; wasm-pack and wasm-bindgen come from cargo's bin.
mkdir -p "$STAGE/bin"
ln -s /usr/bin/cargo "$STAGE/bin/cargo"
ln -s /usr/bin/rustc "$STAGE/bin/rustc"
export PATH="$STAGE/bin:$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"
export RUSTC=/usr/bin/rustc
unset RUSTUP_TOOLCHAIN CARGO_TARGET_DIR
# build-std ([unstable] in kernels-rs/.cargo/config.toml) on a stable toolchain.
export RUSTC_BOOTSTRAP=1
# Flags come only from kernels-rs/.cargo/config.toml (env flags would replace them).
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET

for tool in wasm-pack wasm-bindgen; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build-kernels: $tool not found; run scripts/install-rust-wasm.sh" >&2
    exit 1
  fi
done

pack() { # variant, extra cargo args...
  local variant="$1"
  shift
  # --mode no-install: use the wasm-bindgen on PATH, which must be the crate's exact version (wasm-pack checks), and
  # never download one. wasm-opt is off in Cargo.toml. Cargo's own arguments follow `--`.
  wasm-pack --log-level warn build "$CRATE" --target web --release --mode no-install \
    --out-dir "$STAGE/$variant" --out-name "$NAME" \
    -- --locked --target-dir "$TARGET_DIR/$variant" "$@" \
    2> >(grep -v -e 'unstable feature specified for `-Ctarget-feature`: `atomics`' \
                 -e 'this feature is not stably supported' -e '^ *|$' -e '^ *= note: this feature' \
                 -e 'generated 1 warning' -e '^$' >&2 || true)
  if [ ! -f "$STAGE/$variant/${NAME}_bg.wasm" ] || [ ! -f "$STAGE/$variant/$NAME.js" ]; then
    echo "build-kernels: wasm-pack did not produce $variant/${NAME}_bg.wasm and $variant/$NAME.js" >&2
    exit 1
  fi
  # wasm-pack's .gitignore ("*") would hide the committed files, and its README.md is kernels-rs/README.md again.
  rm -f "$STAGE/$variant/.gitignore" "$STAGE/$variant/README.md"
}

pack simd128
# Cargo joins this list onto the one in .cargo/config.toml.
pack relaxed --features relaxed --config 'target.wasm32-unknown-unknown.rustflags=["-C","target-feature=+relaxed-simd"]'

rm -rf "$STAGE/bin"
mkdir -p "$(dirname "$OUT")"
rm -rf "$OUT"
cp -r "$STAGE" "$OUT"
find "$OUT" -type d -exec chmod 755 {} +
find "$OUT" -type f -exec chmod 644 {} +
echo "build-kernels: wrote $OUT:"
(cd "$OUT" && find . -type f | sort | while read -r f; do printf '  %-40s %7s bytes\n' "${f#./}" "$(wc -c <"$f")"; done)
