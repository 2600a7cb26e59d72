"""The PyTorch side of bench-gpu (../../../shared/BENCH.md): the same LLaMA-style decoder and training step as
bench/gpu/webgpu-bench.ts, in eager mode (no torch.compile) on the same GPU, in fp32 and in bf16 autocast.

    python3 bench/gpu/torch_reference.py '<config json>' <out.json>

Run by bench/gpu.sh with bench/gpu/config.ts's config as JSON. fp32 means fp32: TF32 tensor-core matmuls are off
(PyTorch's default for matmul), so the comparison is like for like with unilab's f32 WGSL. Attention is
F.scaled_dot_product_attention(is_causal=True), the fused kernel an eager PyTorch user gets. Writes the
SideResults of config.ts as {"results": [...]}; prints nothing to stdout but the step log on stderr.
"""
import json
import os
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the tiny run on a machine without PyTorch (CI, this repo's dev machines)
    print(f"PyTorch is not importable here ({e}); skipping the reference side", file=sys.stderr)
    sys.exit(0)

# The shared model lives one folder up (bench/torch_llama.py); this script runs as bench/gpu/torch_reference.py.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from torch_llama import Decoder, fused_attention  # noqa: E402

cfg = json.loads(sys.argv[1])
out_path = sys.argv[2]
device = "cuda" if torch.cuda.is_available() else "cpu"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def side(dtype_name):
    torch.manual_seed(cfg["seed"])
    model = Decoder(cfg, fused_attention).to(device)
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg["lr"],
        betas=(cfg["beta1"], cfg["beta2"]),
        eps=cfg["eps"],
    )
    gen = torch.Generator(device="cpu").manual_seed(cfg["seed"])
    b, t, v = cfg["batchSize"], cfg["seqLen"], cfg["vocabSize"]
    autocast = dtype_name == "bf16"
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def step():
        tokens = torch.randint(v, (b, t), generator=gen).to(device, non_blocking=True)
        targets = torch.randint(v, (b, t), generator=gen).to(device, non_blocking=True)
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=autocast):
            logits = model(tokens)
            loss = F.cross_entropy(logits.view(-1, v).float(), targets.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["clipNorm"])
        opt.step()
        # unilab reads the loss and the gradient norm back every step; so does this.
        return loss.item(), norm.item()

    losses, seconds = [], []
    for s in range(cfg["warmupSteps"] + cfg["timedSteps"]):
        t0 = time.perf_counter()
        loss, _ = step()
        dt = time.perf_counter() - t0
        losses.append(loss)
        if s >= cfg["warmupSteps"]:
            seconds.append(dt)
        print(f"pytorch {dtype_name} step {s + 1}: loss {loss:.4f}, {dt:.3f} s", file=sys.stderr)
    med = statistics.median(seconds)
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    return {
        "side": f"PyTorch {torch.__version__} eager {dtype_name}" + (" autocast" if autocast else ""),
        "device": f"{name}, {device}",
        "stepSeconds": seconds,
        "medianSeconds": med,
        "tokensPerSecond": b * t / med,
        "losses": losses,
        "parameters": sum(p.numel() for p in model.parameters()),
        "peakMemoryBytes": torch.cuda.max_memory_allocated() if device == "cuda" else 0,
        "detail": "TF32 off, SDPA is_causal",
    }


results = [side("fp32")]
if device == "cuda" and torch.cuda.is_bf16_supported():
    results.append(side("bf16"))
with open(out_path, "w") as f:
    json.dump({"results": results}, f)
