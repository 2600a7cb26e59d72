"""The PyTorch side of `npm run bench:generate`: greedy generation with a key/value cache on bench-small, with the
weights unilab exported (bench/generate.ts), in eager fp32 on the CPU.

    /usr/bin/python3 bench/torch_generate.py '<config json>' <weights dir> '<prompt ids json>' '<unilab tokens json>'

The model is bench/torch_llama.py's Decoder with unilab's weights loaded into it; decoding keeps each layer's rotated
keys and values in preallocated [1, H, seqLen, D] buffers (the usual PyTorch KV cache), and moves its context window
exactly as unilab's ContextWindow does for a causal decoder (libs/runner/src/inference/context-window.ts): the row
never exceeds seqLen; when it would, the last seqLen / 2 tokens become the row and the cache is refilled from them.
It first checks that its greedy tokens equal unilab's, then times a second run. What the reference runs on (its
BLAS, threads, matmul GFLOP/s) is probed beforehand in the same environment by bench/reference-check.ts.
Prints one JSON line last.
"""
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from torch_llama import Decoder, eager_attention, rope

cfg = json.loads(sys.argv[1])
weights_dir = sys.argv[2]
prompt = json.loads(sys.argv[3])
expected = json.loads(sys.argv[4])
torch.set_num_threads(cfg["threads"])


def load_weights(model):
    """unilab's parameters (its names, [in, out] matrices) into the Decoder's modules ([out, in] Linear weights)."""
    manifest = json.load(open(os.path.join(weights_dir, "manifest.json")))
    flat = np.fromfile(os.path.join(weights_dir, "weights.f32"), dtype="<f4")
    at = 0
    values = {}
    for p in manifest["params"]:
        n = int(np.prod(p["shape"]))
        values[p["name"]] = torch.from_numpy(flat[at : at + n].reshape(p["shape"]).copy())
        at += n
    linear = lambda name: values[name].t().contiguous()
    with torch.no_grad():
        model.embed.weight.copy_(values["tok_embeddings"])
        for l, blk in enumerate(model.blocks):
            pre = f"layers.{l}."
            blk.attn_norm.weight.copy_(values[pre + "attn_norm"])
            blk.ffn_norm.weight.copy_(values[pre + "ffn_norm"])
            for name in ("wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down"):
                getattr(blk, name).weight.copy_(linear(pre + name))
        model.norm.weight.copy_(values["norm"])
        model.output.weight.copy_(linear("output"))


class KVCache:
    def __init__(self, c):
        hd = c["dModel"] // c["heads"]
        shape = (1, c["heads"], c["seqLen"], hd)
        self.k = [torch.zeros(shape) for _ in range(c["layers"])]
        self.v = [torch.zeros(shape) for _ in range(c["layers"])]
        self.length = 0


def block_step(blk, x, start, cache, l, cos, sin):
    """One block over the new tokens x [1, n, d] at positions start..start+n-1, reading and extending the cache."""
    b, n, d = x.shape
    end = start + n
    h = blk.attn_norm(x)
    c_, s_ = cos[:, start:end], sin[:, start:end]
    q = rope(blk.wq(h).view(b, n, blk.heads, blk.head_dim), c_, s_).transpose(1, 2)
    cache.k[l][:, :, start:end] = rope(blk.wk(h).view(b, n, blk.heads, blk.head_dim), c_, s_).transpose(1, 2)
    cache.v[l][:, :, start:end] = blk.wv(h).view(b, n, blk.heads, blk.head_dim).transpose(1, 2)
    k, v = cache.k[l][:, :, :end], cache.v[l][:, :, :end]
    if n == 1:
        att = F.softmax((q @ k.transpose(-2, -1)) / math.sqrt(blk.head_dim), dim=-1) @ v
    else:
        visible = torch.ones(n, end, dtype=torch.bool).tril(diagonal=start)
        att = eager_attention(q, k, v, visible)
    x = x + blk.wo(att.transpose(1, 2).reshape(b, n, d))
    h = blk.ffn_norm(x)
    return x + blk.w_down(F.silu(blk.w_gate(h)) * blk.w_up(h))


def step_logits(model, tokens, cache):
    """Logits of the last of `tokens`, appended to the cache."""
    start = cache.length
    x = model.embed(torch.tensor([tokens], dtype=torch.long))
    for l, blk in enumerate(model.blocks):
        x = block_step(blk, x, start, cache, l, model.cos, model.sin)
    cache.length = start + len(tokens)
    return model.output(model.norm(x[:, -1]))[0]


def greedy(model, c, new_tokens):
    """Greedy decoding in unilab's context window; returns the tokens and the seconds of each step."""
    seq_len = c["seqLen"]
    text = list(prompt)
    input_start = max(0, len(text) - seq_len)
    cache, held_start = KVCache(c), None
    out, seconds = [], []
    with torch.inference_mode():
        for _ in range(new_tokens):
            t0 = time.perf_counter()
            if held_start != input_start:
                cache.length = 0
                logits = step_logits(model, text[input_start:], cache)
                held_start = input_start
            else:
                logits = step_logits(model, text[-1:], cache)
            token = int(torch.argmax(logits))
            seconds.append(time.perf_counter() - t0)
            out.append(token)
            text.append(token)
            if len(text) - input_start > seq_len:
                input_start = len(text) - seq_len // 2
    return out, seconds


model = Decoder(cfg, eager_attention).eval()
load_weights(model)
check, _ = greedy(model, cfg, len(expected))
mismatch = next((i for i, (a, b) in enumerate(zip(check, expected)) if a != b), None)
tokens, seconds = greedy(model, cfg, len(expected))
total = sum(seconds)
print(
    json.dumps(
        {
            "tokens": tokens,
            "matches": mismatch is None and tokens == check,
            "firstMismatch": mismatch,
            "seconds": total,
            "tokensPerSecond": len(tokens) / total,
            "firstStepSeconds": seconds[0],
            "medianStepSeconds": statistics.median(seconds[1:]),
        }
    )
)
