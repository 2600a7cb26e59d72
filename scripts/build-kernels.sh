#!/usr/bin/env bash
# Build kernels-rs/ twice and write the two modules to libs/core/src/backends/wasm/pkg/
# (committed), or to the directory given as $1:
#
#   unilab_kernels_simd128.wasm   SIMD128, threads (shared memory)     every engine with wasm threads
#   unilab_kernels_relaxed.wasm   the same + relaxed-SIMD FMA           chosen at load when the engine validates it
#
# Reproducible: same toolchain + same sources => byte-identical output (checked by
# scripts/check-kernels-fresh.sh). Toolchain: scripts/install-rust-wasm.sh.
# Environment: CARGO_TARGET_DIR (default kernels-rs/target) holds the two builds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CRATE="$ROOT/kernels-rs"
OUT="${1:-$ROOT/libs/core/src/backends/wasm/pkg}"
TARGET_DIR="${CARGO_TARGET_DIR:-$CRATE/target}"
NAME="unilab_kernels"

# Debian's rustc/cargo (rustc-web): rustup's toolchains here have no wasm32 target.
export RUSTC=/usr/bin/rustc
unset RUSTUP_TOOLCHAIN CARGO_TARGET_DIR
# build-std ([unstable] in kernels-rs/.cargo/config.toml) on a stable toolchain.
export RUSTC_BOOTSTRAP=1
# Flags come only from kernels-rs/.cargo/config.toml (env flags would replace them).
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET

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

build() { # variant, extra cargo args...
  local variant="$1"
  shift
  (cd "$CRATE" && /usr/bin/cargo build --quiet --release --locked --target-dir "$TARGET_DIR/$variant" "$@") \
    2> >(grep -v -e 'unstable feature specified for `-Ctarget-feature`: `atomics`' \
                 -e 'this feature is not stably supported' -e '^ *|$' -e '^ *= note: this feature' \
                 -e 'generated 1 warning' -e '^$' >&2 || true)
  local wasm="$TARGET_DIR/$variant/wasm32-unknown-unknown/release/${NAME}.wasm"
  if [ ! -f "$wasm" ]; then
    echo "build-kernels: cargo did not produce $wasm" >&2
    exit 1
  fi
  cp "$wasm" "$STAGE/${NAME}_${variant}.wasm"
}

STAGE="$(mktemp -d "${TMPDIR:-/tmp}/build-kernels.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT

build simd128
# Cargo joins this list onto the one in .cargo/config.toml.
build relaxed --features relaxed --config 'target.wasm32-unknown-unknown.rustflags=["-C","target-feature=+relaxed-simd"]'

mkdir -p "$(dirname "$OUT")"
rm -rf "$OUT"
cp -r "$STAGE" "$OUT"
chmod 755 "$OUT"
chmod 644 "$OUT"/*.wasm
echo "build-kernels: wrote $OUT: $(cd "$OUT" && for f in *.wasm; do printf '%s (%s bytes) ' "$f" "$(wc -c <"$f")"; done)"
