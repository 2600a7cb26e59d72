#!/usr/bin/env bash
# Install the toolchain that builds kernels-rs/ (Rust -> wasm32 + SIMD128 + threads).
#
# Idempotent: does nothing when everything is present. Needs root (or sudo) for apt
# and network access to Debian's apt repositories only (nothing from GitHub, rustup
# or crates.io: the crate has no dependencies and `core` is built from Debian's sources).
#
#   apt: rustc-web cargo-web rust-web-src (Debian's Rust 1.96 with the library sources
#        for build-std) and lld (wasm-ld).
#
# Fresh machine: ~25 s.
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
log "done: $ver, $(wasm-ld --version | head -1)"
