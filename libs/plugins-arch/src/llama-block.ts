import type { AttentionMask, Backend, Parameter, Rng, Tape, Tensor, Var } from '@unilab/core';
import { ops } from '@unilab/core';
import { normalParameter, onesParameter } from './init.ts';

/**
 * One LLaMA block (Touvron et al. 2023): pre-RMSNorm, attention with RoPE, residual; pre-RMSNorm, SwiGLU FFN,
 * residual. No biases. Shapes: x [B, T, d]; heads H of size d / H; kvHeads <= H share keys and values (GQA).
 */
export interface LlamaBlockConfig {
  dModel: number;
  heads: number;
  kvHeads: number;
  ffnHidden: number;
  normEps: number;
  ropeBase: number;
}

export interface LlamaBlockParams {
  attnNorm: Parameter;
  wq: Parameter;
  wk: Parameter;
  wv: Parameter;
  wo: Parameter;
  ffnNorm: Parameter;
  wGate: Parameter;
  wUp: Parameter;
  wDown: Parameter;
}

export function createLlamaBlock(
  backend: Backend,
  rng: Rng,
  prefix: string,
  c: LlamaBlockConfig,
  residualStd: number,
): LlamaBlockParams {
  const d = c.dModel;
  const kvDim = (d / c.heads) * c.kvHeads;
  return {
    attnNorm: onesParameter(backend, `${prefix}.attn_norm`, d),
    wq: normalParameter(backend, rng, `${prefix}.wq`, [d, d], 0.02),
    wk: normalParameter(backend, rng, `${prefix}.wk`, [d, kvDim], 0.02),
    wv: normalParameter(backend, rng, `${prefix}.wv`, [d, kvDim], 0.02),
    // Projections into the residual stream start smaller so the stream's variance does not grow with depth (GPT-2).
    wo: normalParameter(backend, rng, `${prefix}.wo`, [d, d], residualStd),
    ffnNorm: onesParameter(backend, `${prefix}.ffn_norm`, d),
    wGate: normalParameter(backend, rng, `${prefix}.w_gate`, [d, c.ffnHidden], 0.02),
    wUp: normalParameter(backend, rng, `${prefix}.w_up`, [d, c.ffnHidden], 0.02),
    wDown: normalParameter(backend, rng, `${prefix}.w_down`, [c.ffnHidden, d], residualStd),
  };
}

export function llamaBlockParameters(p: LlamaBlockParams): Parameter[] {
  return [p.attnNorm, p.wq, p.wk, p.wv, p.wo, p.ffnNorm, p.wGate, p.wUp, p.wDown];
}

export function llamaBlockForward(
  tape: Tape,
  x: Var,
  p: LlamaBlockParams,
  c: LlamaBlockConfig,
  mask: AttentionMask,
  positions: Tensor,
): Var {
  const [b, t] = x.shape;
  const headDim = c.dModel / c.heads;

  // Attention sublayer: x + Wo · attention(rope(Wq h), rope(Wk h), Wv h), h = rmsnorm(x).
  const h = ops.rmsnorm(tape, x, tape.param(p.attnNorm), c.normEps);
  const q = ops.rope(tape, ops.reshape(tape, ops.linear(tape, h, tape.param(p.wq)), [b, t, c.heads, headDim]), positions, c.ropeBase);
  const k = ops.rope(tape, ops.reshape(tape, ops.linear(tape, h, tape.param(p.wk)), [b, t, c.kvHeads, headDim]), positions, c.ropeBase);
  const v = ops.reshape(tape, ops.linear(tape, h, tape.param(p.wv)), [b, t, c.kvHeads, headDim]);
  const attended = ops.reshape(tape, ops.attention(tape, q, k, v, mask, 1 / Math.sqrt(headDim)), [b, t, c.dModel]);
  const x1 = ops.add(tape, x, ops.linear(tape, attended, tape.param(p.wo)));

  // Feed-forward sublayer: x + W_down · (silu(W_gate h) ⊙ W_up h), h = rmsnorm(x).
  const h2 = ops.rmsnorm(tape, x1, tape.param(p.ffnNorm), c.normEps);
  const gated = ops.swiglu(tape, ops.linear(tape, h2, tape.param(p.wGate)), ops.linear(tape, h2, tape.param(p.wUp)));
  return ops.add(tape, x1, ops.linear(tape, gated, tape.param(p.wDown)));
}
