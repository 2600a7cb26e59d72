#!/usr/bin/env bash
# Install the toolchain that builds kernels-rs/ (Rust -> wasm32 + SIMD128 via wasm-pack).
#
# Idempotent: every step checks first and does nothing when already satisfied.
# Needs root (or sudo) for apt, and network access to Debian's apt repositories
# and crates.io (nothing is downloaded from GitHub).
#
#   1. apt: rustc-web cargo-web rust-web-src (Debian's Rust 1.96 with the std
#      sources for build-std), lld (wasm-ld), binaryen (wasm-opt, optional).
#   2. An empty <sysroot>/lib/rustlib/wasm32-unknown-unknown/lib: wasm-pack
#      requires the directory that `rustc --print target-libdir` names to exist
#      (core/alloc themselves come from build-std).
#   3. cargo install wasm-bindgen-cli at EXACTLY the wasm-bindgen version in
#      kernels-rs/Cargo.lock, and wasm-pack (pinned below), into $CARGO_HOME/bin.
#      These compile from crates.io with the host toolchain (a few minutes).
#
# Fresh machine (2 cores): ~25 s apt + 4.5-9 min for the two cargo installs; rerun: < 1 s.
set -euo pipefail

WASM_PACK_VERSION="0.15.1"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCK="$ROOT/kernels-rs/Cargo.lock"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"

log() { printf '[install-rust-wasm] %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO=""; fi
fi

# --- 1. Debian packages -------------------------------------------------------
APT_PKGS=(rustc-web cargo-web rust-web-src lld binaryen)
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

RUSTC=/usr/bin/rustc
ver="$("$RUSTC" --version)"
case "$ver" in
  "rustc 1.9"[6-9]*|"rustc 1."[1-9][0-9][0-9]*) log "Debian rustc: $ver" ;;
  *) echo "install-rust-wasm: /usr/bin/rustc is '$ver'; need rustc-web >= 1.96 (bookworm-security)" >&2; exit 1 ;;
esac
if [ ! -d /usr/lib/rustlib/src/rust/library/core ]; then
  echo "install-rust-wasm: rust-web-src did not provide /usr/lib/rustlib/src/rust/library" >&2
  exit 1
fi

# --- 2. target libdir that wasm-pack checks for -------------------------------
libdir="$("$RUSTC" --target wasm32-unknown-unknown --print target-libdir)"
if [ ! -d "$libdir" ]; then
  log "mkdir $libdir (empty: core/alloc come from build-std)"
  $SUDO mkdir -p "$libdir"
fi

# --- 3. wasm-bindgen-cli (version from Cargo.lock) and wasm-pack --------------
WB_VERSION="$(awk '
  /^\[\[package\]\]/ { name = "" }
  /^name = / { gsub(/"/, "", $3); name = $3 }
  /^version = / && name == "wasm-bindgen" { gsub(/"/, "", $3); print $3; exit }
' "$LOCK")"
if [ -z "$WB_VERSION" ]; then
  echo "install-rust-wasm: no wasm-bindgen entry in $LOCK" >&2
  exit 1
fi

# The host toolchain builds the tools: rustup's cargo when present, else Debian's.
if [ -x "$CARGO_BIN/cargo" ]; then HOST_CARGO="$CARGO_BIN/cargo"; else HOST_CARGO="cargo"; fi

cargo_install() { # crate version
  # --locked first (the crate's own lockfile); some locked versions can be
  # missing from the registry mirror (seen: webpki-roots 1.0.11 for
  # wasm-bindgen-cli 0.2.130), then resolve afresh.
  if ! "$HOST_CARGO" install --locked --quiet "$1" --version "$2"; then
    log "cargo install --locked $1@$2 failed; retrying without --locked"
    "$HOST_CARGO" install --quiet "$1" --version "$2"
  fi
}

have_version() { # binary expected-version
  [ -x "$CARGO_BIN/$1" ] && [ "$("$CARGO_BIN/$1" --version 2>/dev/null | awk '{print $2}')" = "$2" ]
}

if have_version wasm-bindgen "$WB_VERSION"; then
  log "wasm-bindgen $WB_VERSION present"
else
  log "cargo install wasm-bindgen-cli $WB_VERSION (a few minutes)"
  cargo_install wasm-bindgen-cli "$WB_VERSION"
fi

if have_version wasm-pack "$WASM_PACK_VERSION"; then
  log "wasm-pack $WASM_PACK_VERSION present"
else
  log "cargo install wasm-pack $WASM_PACK_VERSION (a few minutes)"
  cargo_install wasm-pack "$WASM_PACK_VERSION"
fi

log "done: $("$CARGO_BIN/wasm-pack" --version), $("$CARGO_BIN/wasm-bindgen" --version), $("$RUSTC" --version)"
