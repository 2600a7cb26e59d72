"""The PyTorch LLaMA-style decoder both PyTorch references train (bench/pytorch_bench_small.py on the CPU,
bench/gpu/torch_reference.py on the GPU): unilab's `decoder` with pre-RMSNorm, interleaved RoPE, SwiGLU, untied
output, no biases, and unilab's initialisation. Only attention differs between the two, so it is a parameter:
`attention(q, k, v, causal)` with q, k, v of shape [B, H, T, D] and `causal` the [T, T] boolean mask (True: may
attend): lower-triangular for the decoder, open over the first prefixLen keys for the prefix LM, None for a fully
bidirectional encoder and for cross-attention. EncoderDecoder is unilab's `encoder-decoder` (bench/scale.ts).
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
    if causal is not None:
        scores = scores.masked_fill(~causal, float("-inf"))
    return F.softmax(scores, dim=-1) @ v


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

    def self_attention(self, x, cos, sin, causal):
        b, t, d = x.shape
        h = self.attn_norm(x)
        q = rope(self.wq(h).view(b, t, self.heads, self.head_dim), cos, sin).transpose(1, 2)
        k = rope(self.wk(h).view(b, t, self.heads, self.head_dim), cos, sin).transpose(1, 2)
        v = self.wv(h).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        att = self.attention(q, k, v, causal)
        return x + self.wo(att.transpose(1, 2).reshape(b, t, d))

    def feed_forward(self, x):
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))

    def forward(self, x, cos, sin, causal):
        return self.feed_forward(self.self_attention(x, cos, sin, causal))


class CrossBlock(Block):
    """A decoder block of the encoder-decoder: self-attention, cross-attention to the encoder output (no positional
    encoding, every encoder position visible), then the FFN; unilab's `cross_norm` and `cross_w{q,k,v,o}`."""

    def __init__(self, c, attention):
        super().__init__(c, attention)
        d = c["dModel"]
        self.cross_norm = RMSNorm(d, c["normEps"])
        self.cross_wq = nn.Linear(d, d, bias=False)
        self.cross_wk = nn.Linear(d, d, bias=False)
        self.cross_wv = nn.Linear(d, d, bias=False)
        self.cross_wo = nn.Linear(d, d, bias=False)

    def forward(self, x, cos, sin, causal, memory):
        x = self.self_attention(x, cos, sin, causal)
        b, t, d = x.shape
        te = memory.shape[1]
        q = self.cross_wq(self.cross_norm(x)).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.cross_wk(memory).view(b, te, self.heads, self.head_dim).transpose(1, 2)
        v = self.cross_wv(memory).view(b, te, self.heads, self.head_dim).transpose(1, 2)
        x = x + self.cross_wo(self.attention(q, k, v, None).transpose(1, 2).reshape(b, t, d))
        return self.feed_forward(x)


def rope_tables(c, length):
    hd = c["dModel"] // c["heads"]
    inv_freq = c["ropeBase"] ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    angles = torch.arange(length, dtype=torch.float64)[:, None] * inv_freq[None, :]
    return angles.cos().float()[None, :, None, :], angles.sin().float()[None, :, None, :]


def init_like_unilab(module, layers_of):
    """unilab's initialisation: N(0, 0.02), projections into the residual stream 0.02 / sqrt(2 · the stack's layers)."""
    for name, p in module.named_parameters():
        if p.dim() > 1:
            residual = name.endswith(("wo.weight", "w_down.weight"))
            nn.init.normal_(p, std=0.02 / math.sqrt(2 * layers_of(name)) if residual else 0.02)


class Decoder(nn.Module):
    def __init__(self, c, attention):
        super().__init__()
        self.embed = nn.Embedding(c["vocabSize"], c["dModel"])
        self.blocks = nn.ModuleList(Block(c, attention) for _ in range(c["layers"]))
        self.norm = RMSNorm(c["dModel"], c["normEps"])
        self.output = nn.Linear(c["dModel"], c["vocabSize"], bias=False)
        cos, sin = rope_tables(c, c["seqLen"])
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)
        t = c["seqLen"]
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        # The prefix LM (unilab's `prefix-lm`): every query also sees the first prefixLen keys.
        causal[:, : c.get("prefixLen", 0)] = True
        self.register_buffer("causal", causal)
        init_like_unilab(self, lambda name: c["layers"])

    def forward(self, tokens):
        x = self.embed(tokens)
        for blk in self.blocks:
            x = blk(x, self.cos, self.sin, self.causal)
        return self.output(self.norm(x))


class EncoderDecoder(nn.Module):
    """unilab's `encoder-decoder` with LLaMA blocks: one shared token table (T5), a bidirectional encoder of
    c["encoderLayers"] blocks and a causal decoder of c["decoderLayers"] CrossBlocks, each stack with its own RoPE
    positions from 0 and its final RMSNorm, untied output head. forward(source, tokens) -> logits of the decoder."""

    def __init__(self, c, attention):
        super().__init__()
        self.embed = nn.Embedding(c["vocabSize"], c["dModel"])
        self.encoder = nn.ModuleList(Block(c, attention) for _ in range(c["encoderLayers"]))
        self.encoder_norm = RMSNorm(c["dModel"], c["normEps"])
        self.decoder = nn.ModuleList(CrossBlock(c, attention) for _ in range(c["decoderLayers"]))
        self.norm = RMSNorm(c["dModel"], c["normEps"])
        self.output = nn.Linear(c["dModel"], c["vocabSize"], bias=False)
        self.register_buffer("enc_cos", rope_tables(c, c["encoderLen"])[0])
        self.register_buffer("enc_sin", rope_tables(c, c["encoderLen"])[1])
        self.register_buffer("cos", rope_tables(c, c["decoderLen"])[0])
        self.register_buffer("sin", rope_tables(c, c["decoderLen"])[1])
        t = c["decoderLen"]
        self.register_buffer("causal", torch.ones(t, t, dtype=torch.bool).tril())
        init_like_unilab(self, lambda name: c["encoderLayers"] if name.startswith("encoder.") else c["decoderLayers"])

    def forward(self, source, tokens):
        m = self.embed(source)
        for blk in self.encoder:
            m = blk(m, self.enc_cos, self.enc_sin, None)
        m = self.encoder_norm(m)
        x = self.embed(tokens)
        for blk in self.decoder:
            x = blk(x, self.cos, self.sin, self.causal, m)
        return self.output(self.norm(x))
