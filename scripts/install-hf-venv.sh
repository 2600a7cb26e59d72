#!/usr/bin/env bash
# Project-local Python environment for the Hugging Face interop tests (libs/runner/test/hf-interop.test.ts):
# transformers, tokenizers and safetensors from PyPI over a CPU-only torch. PyPI's Linux torch wheels pull
# gigabytes of CUDA libraries, so torch comes from Debian's python3-torch (1.13, CPU) and the venv sees it
# through --system-site-packages; transformers is pinned to a release that still supports torch 1.13.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c "import torch, ensurepip" 2>/dev/null; then
  apt-get update -qq
  apt-get install -y --no-install-recommends python3-torch python3-venv
fi
if [ ! -x .venv-hf/bin/python ]; then
  /usr/bin/python3 -m venv --system-site-packages .venv-hf
fi
.venv-hf/bin/pip install --quiet --disable-pip-version-check \
  'transformers==4.40.2' 'tokenizers>=0.19,<0.20' 'safetensors>=0.4,<0.5'
.venv-hf/bin/python -c 'import torch, transformers, tokenizers, safetensors; print("hf venv: torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__)'
