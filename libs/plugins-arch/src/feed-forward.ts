import type { Backend, Parameter, Rng, Tape, Var } from '@unilab/core';
import { ops } from '@unilab/core';
import type { BlockConfig } from './config.ts';
import { normalParameter } from './init.ts';

/**
 * The position-wise feed-forward network, x [B, T, d] -> [B, T, d], without biases:
 *   swiglu  W_down (silu(W_gate x) ⊙ W_up x)   (Shazeer 2020; LLaMA)
 *   gelu    W_down gelu(W_up x)                 (BERT, GPT-2)
 *   relu    W_down relu(W_up x)                 (Vaswani et al. 2017; T5)
 */
export type FeedForwardParams =
  | { activation: 'swiglu'; wGate: Parameter; wUp: Parameter; wDown: Parameter }
  | { activation: 'gelu' | 'relu'; wUp: Parameter; wDown: Parameter };

export function createFeedForward(backend: Backend, rng: Rng, prefix: string, c: BlockConfig, residualStd: number): FeedForwardParams {
  const [d, f] = [c.dModel, c.ffnHidden];
  const up = () => normalParameter(backend, rng, `${prefix}.w_up`, [d, f], 0.02);
  const down = () => normalParameter(backend, rng, `${prefix}.w_down`, [f, d], residualStd);
  if (c.activation === 'swiglu') {
    const wGate = normalParameter(backend, rng, `${prefix}.w_gate`, [d, f], 0.02);
    const wUp = up();
    return { activation: 'swiglu', wGate, wUp, wDown: down() };
  }
  const wUp = up();
  return { activation: c.activation, wUp, wDown: down() };
}

export function feedForwardParameters(p: FeedForwardParams): Parameter[] {
  return p.activation === 'swiglu' ? [p.wGate, p.wUp, p.wDown] : [p.wUp, p.wDown];
}

export function feedForward(tape: Tape, h: Var, p: FeedForwardParams): Var {
  const up = ops.linear(tape, h, tape.param(p.wUp));
  const hidden =
    p.activation === 'swiglu'
      ? ops.swiglu(tape, ops.linear(tape, h, tape.param(p.wGate)), up)
      : p.activation === 'gelu'
        ? ops.gelu(tape, up)
        : ops.relu(tape, up);
  return ops.linear(tape, hidden, tape.param(p.wDown));
}
