#!/usr/bin/env bash
# Install the toolchain that builds kernels-rs/ (Rust -> wasm32 + SIMD128 + threads).
#
# Idempotent: does nothing when everything is present. Needs root (or sudo) for apt
# and network access to Debian's apt repositories and crates.io (nothing from GitHub or
# rustup's servers: `core` and `alloc` are built from Debian's sources).
#
#   apt:       rustc-web cargo-web rust-web-src (Debian's Rust 1.96 with the library sources
#              for build-std) and lld (wasm-ld).
#   crates.io: wasm-pack and wasm-bindgen-cli, built from source with `cargo install --locked`,
#              pinned: wasm-bindgen-cli to the version of the crate's `wasm-bindgen` (Cargo.lock),
#              which wasm-pack requires. Installed into $CARGO_HOME/bin (default ~/.cargo/bin).
#
# Fresh machine: ~25 s for apt; the two cargo installs take ~11.5 min of CPU together (~6-7 min
# on 2 free cores; measured 2026-12-03, see kernels-rs/README.md).
set -euo pipefail

log() { printf '[install-rust-wasm] %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

APT_PKGS=(rustc-web cargo-web rust-web-src lld)
missing=()
for p in "${APT_PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  log "apt packages present: ${APT_PKGS[*]}"
fi

ver="$(/usr/bin/rustc --version)"
case "$ver" in
  "rustc 1.9"[6-9]*|"rustc 1."[1-9][0-9][0-9]*) log "Debian rustc: $ver" ;;
  *) echo "install-rust-wasm: /usr/bin/rustc is '$ver'; need rustc-web >= 1.96 (bookworm-security)" >&2; exit 1 ;;
esac
if [ ! -d /usr/lib/rustlib/src/rust/library/core ]; then
  echo "install-rust-wasm: rust-web-src did not provide /usr/lib/rustlib/src/rust/library" >&2
  exit 1
fi
command -v wasm-ld >/dev/null || { echo "install-rust-wasm: lld did not provide wasm-ld" >&2; exit 1; }

# wasm-pack checks that rustc's wasm32 library directory exists (rustup would add the target; Debian's rustc has
# none, and build-std compiles `core` and `alloc` instead): an empty directory satisfies it.
libdir="$(/usr/bin/rustc --target wasm32-unknown-unknown --print target-libdir)"
[ -d "$libdir" ] || { log "mkdir $libdir (empty: build-std supplies the wasm32 libraries)"; $SUDO mkdir -p "$libdir"; }

# wasm-pack and wasm-bindgen-cli from crates.io, compiled by whichever cargo comes first (rustup's or Debian's: both
# build for the host). wasm-bindgen-cli must be exactly the crate's wasm-bindgen version.
WASM_PACK_VERSION=0.15.1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$ROOT/kernels-rs/Cargo.lock")"
[ -n "$WASM_BINDGEN_VERSION" ] || { echo "install-rust-wasm: no wasm-bindgen in kernels-rs/Cargo.lock" >&2; exit 1; }
BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
CARGO="$(command -v cargo || echo /usr/bin/cargo)"
cargo_tool() { # binary, crate, version
  local have
  have="$("$BIN/$1" --version 2>/dev/null | awk '{ print $2 }' || true)"
  if [ "$have" = "$3" ]; then
    log "$1 $3 present"
    return
  fi
  log "cargo install --locked --version $3 $2 (${have:+replacing $have, }builds from source: minutes)"
  local start=$SECONDS
  "$CARGO" install --quiet --locked --force --version "$3" "$2"
  log "$2 $3 installed in $((SECONDS - start)) s"
}
cargo_tool wasm-pack wasm-pack "$WASM_PACK_VERSION"
cargo_tool wasm-bindgen wasm-bindgen-cli "$WASM_BINDGEN_VERSION"

log "done: $ver, $(wasm-ld --version | head -1), $("$BIN/wasm-pack" --version), $("$BIN/wasm-bindgen" --version)"
