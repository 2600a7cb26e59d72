"""The PyTorch side of bench-gpu (../../../shared/BENCH.md): the same LLaMA-style decoder and training step as
bench/gpu/webgpu-bench.ts, in eager mode (no torch.compile) on the same GPU, in fp32 and in bf16 autocast.

    python3 bench/gpu/torch_reference.py '<config json>' <out.json>

Run by bench/gpu.sh with bench/gpu/config.ts's config as JSON. fp32 means fp32: TF32 tensor-core matmuls are off
(PyTorch's default for matmul), so the comparison is like for like with unilab's f32 WGSL. Attention is
F.scaled_dot_product_attention(is_causal=True), the fused kernel an eager PyTorch user gets. Writes the
SideResults of config.ts as {"results": [...]}; prints nothing to stdout but the step log on stderr.
"""
import json
import math
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # the tiny run on a machine without PyTorch (CI, this repo's dev machines)
    print(f"PyTorch is not importable here ({e}); skipping the reference side", file=sys.stderr)
    sys.exit(0)

cfg = json.loads(sys.argv[1])
out_path = sys.argv[2]
device = "cuda" if torch.cuda.is_available() else "cpu"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, cos, sin):
    """Interleaved pairs (2i, 2i+1) rotate by pos * base^(-2i/D), as unilab's kernel. x: [B, T, H, D]."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, f = c["dModel"], c["ffnHidden"]
        self.heads, self.head_dim = c["heads"], d // c["heads"]
        self.attn_norm = RMSNorm(d, c["normEps"])
        self.wq = nn.Linear(d, d, bias=False)
        self.wk = nn.Linear(d, d, bias=False)
        self.wv = nn.Linear(d, d, bias=False)
        self.wo = nn.Linear(d, d, bias=False)
        self.ffn_norm = RMSNorm(d, c["normEps"])
        self.w_gate = nn.Linear(d, f, bias=False)
        self.w_up = nn.Linear(d, f, bias=False)
        self.w_down = nn.Linear(f, d, bias=False)

    def forward(self, x, cos, sin):
        b, t, d = x.shape
        h = self.attn_norm(x)
        q = rope(self.wq(h).view(b, t, self.heads, self.head_dim), cos, sin).transpose(1, 2)
        k = rope(self.wk(h).view(b, t, self.heads, self.head_dim), cos, sin).transpose(1, 2)
        v = self.wv(h).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.wo(att.transpose(1, 2).reshape(b, t, d))
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed = nn.Embedding(c["vocabSize"], c["dModel"])
        self.blocks = nn.ModuleList(Block(c) for _ in range(c["layers"]))
        self.norm = RMSNorm(c["dModel"], c["normEps"])
        self.output = nn.Linear(c["dModel"], c["vocabSize"], bias=False)
        hd = c["dModel"] // c["heads"]
        inv_freq = c["ropeBase"] ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
        angles = torch.arange(c["seqLen"], dtype=torch.float64)[:, None] * inv_freq[None, :]
        self.register_buffer("cos", angles.cos().float()[None, :, None, :])
        self.register_buffer("sin", angles.sin().float()[None, :, None, :])
        for name, p in self.named_parameters():
            if p.dim() > 1:
                std = 0.02 / math.sqrt(2 * c["layers"]) if name.endswith(("wo.weight", "w_down.weight")) else 0.02
                nn.init.normal_(p, std=std)

    def forward(self, tokens):
        x = self.embed(tokens)
        for blk in self.blocks:
            x = blk(x, self.cos, self.sin)
        return self.output(self.norm(x))


def side(dtype_name):
    torch.manual_seed(cfg["seed"])
    model = Decoder(cfg).to(device)
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
