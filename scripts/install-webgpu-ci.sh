#!/usr/bin/env bash
# Software WebGPU for CI: Vulkan loader + Mesa's lavapipe (CPU Vulkan), new enough for Dawn.
#
# Usage:  eval "$(bash scripts/install-webgpu-ci.sh)"
# stdout carries only the `export` lines to evaluate; progress goes to stderr.
#
# Why the detour: Debian 12's own lavapipe (Mesa 22.3) lacks features Dawn requires (requestAdapter returns null,
# "shaderUniform*ArrayDynamicIndexing required"). Mesa 25 from bookworm-backports works, but installing the whole
# backports Mesa would replace system libraries. So we:
#   1. apt-get install libvulkan1 mesa-vulkan-drivers from the stock archive (the loader, and every shared library
#      lavapipe links against: libLLVM-15, libdrm, ...);
#   2. with a private apt sources list (nothing under /etc/apt changes), download the bookworm-backports
#      mesa-vulkan-drivers .deb and extract only libvulkan_lvp.so into $LAVAPIPE_DIR;
#   3. write an ICD json pointing at that file, to be selected with VK_ICD_FILENAMES.
# Deno (wgpu) works on either lavapipe; Node (Dawn, npm `webgpu`) needs this one.
#
# Idempotent: each step checks first; a rerun prints the env and exits in well under a second.
# Needs root (or sudo) and Debian's apt repositories (deb.debian.org).
set -euo pipefail

LAVAPIPE_DIR="${UNILAB_LAVAPIPE_DIR:-/opt/unilab/lavapipe}"
MIN_MESA_MAJOR=24
ICD_JSON="$LAVAPIPE_DIR/lvp_icd.json"
LIB="$LAVAPIPE_DIR/libvulkan_lvp.so"

log() { printf '[install-webgpu-ci] %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

# --- 1. stock loader and lavapipe's shared-library dependencies ------------------
missing=()
for p in libvulkan1 mesa-vulkan-drivers; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  log "libvulkan1 and mesa-vulkan-drivers already installed"
fi

# --- 2. lavapipe from bookworm-backports, extracted privately --------------------
if [ -f "$LIB" ] && [ -f "$ICD_JSON" ]; then
  log "lavapipe already at $LIB ($(cat "$LAVAPIPE_DIR/VERSION" 2>/dev/null || echo unknown version))"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" \
    >"$work/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives" -o "APT::Sandbox::User=root")
  log "reading bookworm-backports package list (private sources list in $work)"
  $SUDO apt-get "${apt_opts[@]}" update -qq >&2
  version="$(apt-cache "${apt_opts[@]}" policy mesa-vulkan-drivers | awk '/Candidate:/ {print $2}')"
  major="${version%%.*}"
  if [ -z "$version" ] || [ "$version" = "(none)" ] || [ "$major" -lt "$MIN_MESA_MAJOR" ]; then
    log "bookworm-backports offers mesa-vulkan-drivers '$version'; Dawn needs Mesa >= $MIN_MESA_MAJOR"
    exit 1
  fi
  log "downloading mesa-vulkan-drivers $version"
  (cd "$work" && $SUDO apt-get "${apt_opts[@]}" download "mesa-vulkan-drivers=$version" >&2)
  dpkg-deb -x "$work"/mesa-vulkan-drivers_*.deb "$work/x"
  src="$(find "$work/x" -name libvulkan_lvp.so | head -n1)"
  [ -n "$src" ] || { log "libvulkan_lvp.so not found in the .deb"; exit 1; }
  $SUDO mkdir -p "$LAVAPIPE_DIR"
  $SUDO install -m 0644 "$src" "$LIB"
  api="$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$work"/x/usr/share/vulkan/icd.d/lvp_icd.json)"
  printf '{\n  "file_format_version": "1.0.0",\n  "ICD": { "library_path": "%s", "api_version": "%s" }\n}\n' \
    "$LIB" "${api:-1.3.0}" | $SUDO tee "$ICD_JSON" >/dev/null
  echo "$version" | $SUDO tee "$LAVAPIPE_DIR/VERSION" >/dev/null
  log "lavapipe $version installed at $LIB"
fi

# Every library lavapipe needs must resolve from the stock system.
if ldd "$LIB" | grep -q "not found"; then
  log "libvulkan_lvp.so has unresolved libraries:"
  ldd "$LIB" | grep "not found" >&2
  exit 1
fi

echo "export VK_ICD_FILENAMES=$ICD_JSON"
