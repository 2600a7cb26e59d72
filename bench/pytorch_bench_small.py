"""The PyTorch reference of bench-small (../../shared/BENCH.md): the same LLaMA-style decoder, data and step as
bench/unilab-bench-small.ts, in eager fp32 on the CPU.

    OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/pytorch_bench_small.py '<config json>' <tokens.i32> [--profile]

Run by bench/run.ts, which passes bench/config.ts as JSON. Debian's python3-torch (1.13) with
libopenblas0-pthread; OPENBLAS_CORETYPE only in the benchmark command (OpenBLAS 0.3.21 mis-detects this CPU).
Prints one JSON line last (the SideResult of config.ts).
"""
import json
import math
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

cfg = json.loads(sys.argv[1])
stream = np.fromfile(sys.argv[2], dtype="<i4")
want_profile = "--profile" in sys.argv
torch.set_num_threads(cfg["threads"])
torch.manual_seed(cfg["seed"])


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

    def forward(self, x, cos, sin, causal):
        b, t, d = x.shape
        h = self.attn_norm(x)
        q = rope(self.wq(h).view(b, t, self.heads, self.head_dim), cos, sin).transpose(1, 2)
        k = rope(self.wk(h).view(b, t, self.heads, self.head_dim), cos, sin).transpose(1, 2)
        v = self.wv(h).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        # PyTorch 1.13 has no fused scaled_dot_product_attention: the eager composition.
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        att = F.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)
        x = x + self.wo((att @ v).transpose(1, 2).reshape(b, t, d))
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
        t = c["seqLen"]
        self.register_buffer("causal", torch.ones(t, t, dtype=torch.bool).tril())
        # unilab's initialisation: N(0, 0.02), projections into the residual stream 0.02 / sqrt(2 layers).
        for name, p in self.named_parameters():
            if p.dim() > 1:
                std = 0.02 / math.sqrt(2 * c["layers"]) if name.endswith(("wo.weight", "w_down.weight")) else 0.02
                nn.init.normal_(p, std=std)

    def forward(self, tokens):
        x = self.embed(tokens)
        for blk in self.blocks:
            x = blk(x, self.cos, self.sin, self.causal)
        return self.output(self.norm(x))


def window_start(step, row, c):
    # bench/config.ts windowStart: both sides read the same windows of the same stream.
    return ((step * c["batchSize"] + row) * (c["seqLen"] + 1)) % (len(stream) - c["seqLen"] - 1)


def batch(step, c):
    starts = [window_start(step, r, c) for r in range(c["batchSize"])]
    rows = np.stack([stream[s : s + c["seqLen"] + 1] for s in starts]).astype(np.int64)
    return torch.from_numpy(rows[:, :-1]), torch.from_numpy(rows[:, 1:])


model = Decoder(cfg)
decay = [p for p in model.parameters() if p.dim() > 1]
no_decay = [p for p in model.parameters() if p.dim() <= 1]
opt = torch.optim.AdamW(
    [{"params": decay, "weight_decay": cfg["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
    lr=cfg["lr"],
    betas=(cfg["beta1"], cfg["beta2"]),
    eps=cfg["eps"],
)


def step(s):
    tokens, targets = batch(s, cfg)
    logits = model(tokens)
    loss = F.cross_entropy(logits.view(-1, cfg["vocabSize"]), targets.reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["clipNorm"])
    opt.step()
    return loss.item()


losses, step_seconds = [], []
for s in range(cfg["warmupSteps"] + cfg["timedSteps"]):
    t0 = time.perf_counter()
    losses.append(step(s))
    dt = time.perf_counter() - t0
    if s >= cfg["warmupSteps"]:
        step_seconds.append(dt)
    print(f"pytorch step {s + 1}: loss {losses[-1]:.4f}, {dt:.3f} s", file=sys.stderr)

profile = None
if want_profile:
    # One more step under the autograd profiler: self CPU time per op kind.
    with torch.autograd.profiler.profile() as prof:
        step(cfg["warmupSteps"] + cfg["timedSteps"])
    rows = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    profile = {e.key: e.self_cpu_time_total / 1e6 for e in rows[:14]}

med = statistics.median(step_seconds)
print(
    json.dumps(
        {
            "name": "pytorch",
            "stepSeconds": step_seconds,
            "medianSeconds": med,
            "tokensPerSecond": cfg["batchSize"] * cfg["seqLen"] / med,
            # ru_maxrss is in KiB on Linux.
            "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "losses": losses,
            "parameters": sum(p.numel() for p in model.parameters()),
            "profile": profile,
            "detail": f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, eager fp32",
        }
    )
)
