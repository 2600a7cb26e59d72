#!/usr/bin/env bash
# Rebuild kernels-rs/ from scratch with wasm-pack into a temporary directory and fail
# if the result differs from the committed libs/core/src/backends/wasm/pkg/.
#
# Both packages (simd128/ and relaxed/: the .wasm, wasm-bindgen's glue and TypeScript
# declarations, wasm-pack's package.json) are rebuilt and compared file by file, and a
# file that exists on one side only is a difference too. Uses its own empty cargo target
# directory, so this is a clean build (~1-2 min of CPU: `core` and `alloc` are compiled
# twice), independent of kernels-rs/target. Toolchain: scripts/install-rust-wasm.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMMITTED="$ROOT/libs/core/src/backends/wasm/pkg"
REL="libs/core/src/backends/wasm/pkg"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/check-kernels.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

if [ ! -d "$COMMITTED" ]; then
  echo "check-kernels-fresh: FAIL: $REL does not exist; run scripts/build-kernels.sh and commit it." >&2
  exit 1
fi

CARGO_TARGET_DIR="$TMP/target" "$ROOT/scripts/build-kernels.sh" "$TMP/pkg"

if diff -r -q "$COMMITTED" "$TMP/pkg" >"$TMP/diff.txt" 2>&1; then
  echo "check-kernels-fresh: OK: $REL matches a fresh build of kernels-rs/."
  exit 0
fi

{
  echo "check-kernels-fresh: FAIL: $REL is stale: a fresh build of kernels-rs/ differs."
  echo "Differences (committed vs fresh):"
  sed 's/^/  /' "$TMP/diff.txt"
  (cd "$TMP/pkg" && find . -type f | sort) | while read -r rel; do
    b="${rel#./}"
    f="$TMP/pkg/$b"
    if [ -f "$COMMITTED/$b" ] && ! cmp -s "$COMMITTED/$b" "$f"; then
      echo "  $b: committed $(wc -c <"$COMMITTED/$b") bytes sha256 $(sha256sum "$COMMITTED/$b" | cut -c1-16),"\
           "fresh $(wc -c <"$f") bytes sha256 $(sha256sum "$f" | cut -c1-16)"
    fi
  done
  echo "Fix: run scripts/build-kernels.sh (toolchain: scripts/install-rust-wasm.sh) and commit $REL."
  echo "If you did not change kernels-rs/, the toolchain differs from the one that built the"
  echo "committed files (Debian's rustc-web, lld, wasm-pack, wasm-bindgen); see kernels-rs/README.md."
  echo "This toolchain: $(/usr/bin/rustc --version); $(wasm-ld --version | head -1);"\
       "$(PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin" wasm-pack --version);"\
       "$(PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin" wasm-bindgen --version)"
} >&2
exit 1
