import type { Backend, LoraParams, Parameter, Rng, Tape, Var } from '@unilab/core';
import { createLora, loraParameters, ops, projection } from '@unilab/core';
import type { BlockConfig } from './config.ts';
import { normalParameter } from './init.ts';
import type { ModelTuning } from './tuning.ts';
import { project, type Projected } from './projected.ts';

/**
 * The position-wise feed-forward network, x [B, T, d] -> [B, T, d], without biases:
 *   swiglu  W_down (silu(W_gate x) ⊙ W_up x)   (Shazeer 2020; LLaMA)
 *   gelu    W_down gelu(W_up x)                 (BERT, GPT-2)
 *   relu    W_down relu(W_up x)                 (Vaswani et al. 2017; T5)
 */
export type FeedForwardParams = (
  | { activation: 'swiglu'; wGate: Parameter; wUp: Parameter; wDown: Parameter }
  | { activation: 'gelu' | 'relu'; wUp: Parameter; wDown: Parameter }
) & {
  /** LoRA factors of the projections a fine-tuning run adapts (core/nn/lora.ts). */
  lora: { wGate?: LoraParams; wUp?: LoraParams; wDown?: LoraParams };
};

export function createFeedForward(backend: Backend, rng: Rng, prefix: string, c: BlockConfig, residualStd: number, tuning?: ModelTuning): FeedForwardParams {
  const [d, f] = [c.dModel, c.ffnHidden];
  const up = () => normalParameter(backend, rng, `${prefix}.w_up`, [d, f], 0.02);
  const down = () => normalParameter(backend, rng, `${prefix}.w_down`, [f, d], residualStd);
  const adapt = (w: Parameter) => tuning && createLora(backend, tuning.rng, w, tuning.modules.lora);
  if (c.activation === 'swiglu') {
    const wGate = normalParameter(backend, rng, `${prefix}.w_gate`, [d, f], 0.02);
    const wUp = up();
    const wDown = down();
    return { activation: 'swiglu', wGate, wUp, wDown, lora: { wGate: adapt(wGate), wUp: adapt(wUp), wDown: adapt(wDown) } };
  }
  const wUp = up();
  const wDown = down();
  return { activation: c.activation, wUp, wDown, lora: { wUp: adapt(wUp), wDown: adapt(wDown) } };
}

export function feedForwardParameters(p: FeedForwardParams): Parameter[] {
  const base = p.activation === 'swiglu' ? [p.wGate, p.wUp, p.wDown] : [p.wUp, p.wDown];
  return [...base, ...[p.lora.wGate, p.lora.wUp, p.lora.wDown].flatMap(loraParameters)];
}

export function feedForward(tape: Tape, h: Var, p: FeedForwardParams): Var {
  return project(tape, feedForwardHidden(tape, h, p));
}

/**
 * feedForward without W_down: the hidden activations [..., F] and W_down, for projectOnto (projected.ts). With
 * `fuseSwiglu`, SwiGLU's gate and up projections run as one fused op (ops.swigluProjection) unless LoRA factors sit
 * on either. Its backward sums the two dh products in one matmul's epilogue, which gives the unfused bits only when h
 * feeds nothing else (a pre-norm block's normalised input; in a post-norm block h is also the residual).
 */
export function feedForwardHidden(tape: Tape, h: Var, p: FeedForwardParams, fuseSwiglu = false): Projected {
  const down = { weight: p.wDown, lora: p.lora.wDown };
  if (fuseSwiglu && p.activation === 'swiglu' && !p.lora.wGate && !p.lora.wUp)
    return { input: ops.swigluProjection(tape, h, tape.param(p.wGate), tape.param(p.wUp)), ...down };
  const up = projection(tape, h, p.wUp, p.lora.wUp);
  const hidden =
    p.activation === 'swiglu'
      ? ops.swiglu(tape, projection(tape, h, p.wGate, p.lora.wGate), up)
      : p.activation === 'gelu'
        ? ops.gelu(tape, up)
        : ops.relu(tape, up);
  return { input: hidden, ...down };
}
