#!/usr/bin/env bash
# bench-gpu (../shared/BENCH.md) in one prepared run on a GPU machine: unilab's WebGPU backend (Node + Dawn over the
# NVIDIA Vulkan driver) training the bench-gpu decoder, against PyTorch eager fp32 and bf16 on the same model and GPU,
# then the WebGPU kernel table (GFLOP/s, GB/s). Finishes in under 8 minutes (each side has its own timeout).
#
#   here, once (network):  bash bench/gpu/prepare.sh       builds .bench-gpu/ (~30 MiB, git-ignored)
#   on the GPU machine:    bash bench/gpu.sh               device tool: carry [".bench-gpu"], timeout_s 540
#   without a GPU:         BENCH_GPU_CONFIG=tiny VK_ICD_FILENAMES=/opt/unilab/lavapipe/lvp_icd.json bash bench/gpu.sh
#
# That machine has no Node, Deno or network: Node, the bundled bench and dawn.node come from .bench-gpu/; the
# Vulkan loader is unpacked from its .deb only when the system lacks one; the NVIDIA ICD is the driver's own
# (/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json there). Results also go to $OUT (the device tool's
# folder) when set.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG="${BENCH_GPU_CONFIG:-bench-gpu}"
CARRY=.bench-gpu
OUT_DIR="${OUT:-$(mktemp -d)}"
WORK="$(mktemp -d)"
START=$(date +%s)

if [ ! -f "$CARRY/node.xz" ] || [ ! -f "$CARRY/app.tar.xz" ]; then
  echo "bench/gpu.sh: $CARRY/ is missing or incomplete; run 'bash bench/gpu/prepare.sh' first and carry $CARRY" >&2
  exit 1
fi
unxz_to_stdout() {
  if command -v xz >/dev/null 2>&1; then xz -dc "$1"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}

echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null || echo "no nvidia-smi (not an NVIDIA machine)"

echo "== Vulkan"
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  for f in "$CARRY"/deb/*.deb; do dpkg -x "$f" /; done
  ldconfig
  echo "unpacked the Vulkan loader from $(ls "$CARRY"/deb)"
fi
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then
      export VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd"
      break
    fi
  done
fi
echo "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-unset: the loader searches its default paths}"

echo "== Node and the bundled bench"
unxz_to_stdout "$CARRY/node.xz" >"$WORK/node"
chmod +x "$WORK/node"
unxz_to_stdout "$CARRY/app.tar.xz" | tar -x -C "$WORK"
NODE="$WORK/node"
APP="$WORK/app/bench.mjs"
echo "node $("$NODE" --version), config $CONFIG, results in $OUT_DIR"

echo "== unilab WebGPU ($CONFIG)"
# The WebGPU side gets 270 s; past 60% of it, it skips the optional f16 run and the kernel table.
export BENCH_GPU_DEADLINE=$(( ($(date +%s) + 160) * 1000 ))
timeout 270 "$NODE" "$APP" run "$CONFIG" "$OUT_DIR" || echo "unilab WebGPU side failed or timed out (exit $?)"

echo "== PyTorch eager ($CONFIG)"
timeout 150 python3 bench/gpu/torch_reference.py "$("$NODE" "$APP" config "$CONFIG")" "$OUT_DIR/torch.json" ||
  echo "PyTorch side failed or timed out (exit $?)"

"$NODE" "$APP" summary "$CONFIG" "$OUT_DIR"
echo "(bench/gpu.sh took $(( $(date +%s) - START )) s)"
rm -rf "$WORK"
