"""The PyTorch reference of bench-small (../../shared/BENCH.md): the same LLaMA-style decoder, data and step as
bench/unilab-bench-small.ts, in eager fp32 on the CPU.

    /usr/bin/python3 bench/pytorch_bench_small.py '<config json>' <tokens.i32> [--profile]

Run by bench/run.ts, which passes bench/config.ts as JSON. Debian's python3-torch (1.13) with
libopenblas0-pthread; bench/run.ts sets OPENBLAS_CORETYPE for this process only, chosen per CPU by
bench/reference-check.ts (OpenBLAS 0.3.21 mis-detects some AVX-512 Xeons; a fixed SkylakeX crashes AVX2-only CPUs).
Prints one JSON line last (the SideResult of config.ts).
"""
import json
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from torch_llama import Decoder, eager_attention

cfg = json.loads(sys.argv[1])
stream = np.fromfile(sys.argv[2], dtype="<i4")
want_profile = "--profile" in sys.argv
torch.set_num_threads(cfg["threads"])
torch.manual_seed(cfg["seed"])


def window_start(step, row, c):
    # bench/config.ts windowStart: both sides read the same windows of the same stream.
    return ((step * c["batchSize"] + row) * (c["seqLen"] + 1)) % (len(stream) - c["seqLen"] - 1)


def batch(step, c):
    starts = [window_start(step, r, c) for r in range(c["batchSize"])]
    rows = np.stack([stream[s : s + c["seqLen"] + 1] for s in starts]).astype(np.int64)
    return torch.from_numpy(rows[:, :-1]), torch.from_numpy(rows[:, 1:])


model = Decoder(cfg, eager_attention)
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
