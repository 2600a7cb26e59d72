"""The PyTorch LLaMA-style decoder both PyTorch references train (bench/pytorch_bench_small.py on the CPU,
bench/gpu/torch_reference.py on the GPU): unilab's `decoder` with pre-RMSNorm, interleaved RoPE, SwiGLU, untied
output, no biases, and unilab's initialisation. Only attention differs between the two, so it is a parameter:
`attention(q, k, v, causal)` with q, k, v of shape [B, H, T, D] and `causal` the [T, T] lower-triangular mask.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


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


def eager_attention(q, k, v, causal):
    """The composition an eager PyTorch 1.13 user writes (it has no fused scaled_dot_product_attention)."""
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    return F.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1) @ v


def fused_attention(q, k, v, causal):
    """PyTorch 2's fused kernel (flash / memory-efficient on a GPU), causal by its own flag."""
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


class Block(nn.Module):
    def __init__(self, c, attention):
        super().__init__()
        d, f = c["dModel"], c["ffnHidden"]
        self.heads, self.head_dim = c["heads"], d // c["heads"]
        self.attention = attention
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
        att = self.attention(q, k, v, causal)
        x = x + self.wo(att.transpose(1, 2).reshape(b, t, d))
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class Decoder(nn.Module):
    def __init__(self, c, attention):
        super().__init__()
        self.embed = nn.Embedding(c["vocabSize"], c["dModel"])
        self.blocks = nn.ModuleList(Block(c, attention) for _ in range(c["layers"]))
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
