"""The PyTorch side of one bench-scale point (bench/scale.ts): the same model, windows and step as
bench/unilab-scale-point.ts, in eager fp32 on the CPU, with bench/torch_llama.py's models.

    /usr/bin/python3 bench/pytorch_scale_point.py '<point job json>' '<bench-small config json>' <tokens.i32>

Batches follow bench/scale-batches.ts: row r of step s is the window w of seqLen + 1 tokens at windowStart(s, r);
decoder: w[:-1] -> w[1:]; prefix LM: the same, bidirectional over the first prefixLen inputs, loss after them;
encoder-decoder: the encoder reads w[:P], the decoder reads w[P:-1] and predicts w[P+1:].
Prints one JSON line last (ScaleSide of bench/scale-grid.ts); progress goes to stderr.
"""
import json
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from torch_llama import Decoder, EncoderDecoder, eager_attention

job = json.loads(sys.argv[1])
base = json.loads(sys.argv[2])
stream = np.fromfile(sys.argv[3], dtype="<i4")
point = job["point"]
shape = point["shape"]
arch = point["architecture"]
T, B, P = point["seqLen"], point["batchSize"], point["prefixLen"]
torch.set_num_threads(job["threads"])
torch.manual_seed(base["seed"])

cfg = {
    "vocabSize": job["vocabSize"],
    "dModel": shape["dModel"],
    "heads": shape["heads"],
    "ffnHidden": shape["ffnHidden"],
    "layers": shape["layers"],
    "normEps": base["normEps"],
    "ropeBase": base["ropeBase"],
    "seqLen": T,
    "prefixLen": P if arch == "prefix-lm" else 0,
}
if arch == "encoder-decoder":
    cfg.update(encoderLayers=shape["encoderLayers"], decoderLayers=shape["decoderLayers"], encoderLen=P, decoderLen=T - P)
    model = EncoderDecoder(cfg, eager_attention)
else:
    model = Decoder(cfg, eager_attention)


def window_start(step, row):
    # bench/config.ts windowStart.
    return ((step * B + row) * (T + 1)) % (len(stream) - T - 1)


def batch(step):
    rows = np.stack([stream[window_start(step, r) : window_start(step, r) + T + 1] for r in range(B)]).astype(np.int64)
    return torch.from_numpy(rows)


loss_mask = torch.ones(B, T)
if arch == "prefix-lm":
    loss_mask[:, :P] = 0

decay = [p for p in model.parameters() if p.dim() > 1]
no_decay = [p for p in model.parameters() if p.dim() <= 1]
opt = torch.optim.AdamW(
    [{"params": decay, "weight_decay": base["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
    lr=base["lr"],
    betas=(base["beta1"], base["beta2"]),
    eps=base["eps"],
)


def step(s):
    rows = batch(s)
    if arch == "encoder-decoder":
        logits = model(rows[:, :P], rows[:, P:-1])
        loss = F.cross_entropy(logits.reshape(-1, cfg["vocabSize"]), rows[:, P + 1 :].reshape(-1))
    else:
        logits = model(rows[:, :-1])
        per = F.cross_entropy(logits.reshape(-1, cfg["vocabSize"]), rows[:, 1:].reshape(-1), reduction="none")
        loss = per.mean() if arch == "decoder" else (per * loss_mask.reshape(-1)).sum() / loss_mask.sum()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), base["clipNorm"])
    opt.step()
    return loss.item()


losses, step_seconds = [], []
for s in range(job["warmupSteps"] + job["timedSteps"]):
    t0 = time.perf_counter()
    losses.append(step(s))
    dt = time.perf_counter() - t0
    if s >= job["warmupSteps"]:
        step_seconds.append(dt)
    print(f"  pytorch step {s + 1}: loss {losses[-1]:.4f}, {dt:.3f} s", file=sys.stderr)

print(
    json.dumps(
        {
            "tokensPerSecond": B * T / statistics.median(step_seconds),
            "stepSeconds": step_seconds,
            # ru_maxrss is in KiB on Linux.
            "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "losses": losses,
            "parameters": sum(p.numel() for p in model.parameters()),
        }
    )
)
