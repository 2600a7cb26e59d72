import type { Tape, Tensor, Var } from '@unilab/core';
import { ops } from '@unilab/core';

/**
 * Residual dropout for one training forward (Vaswani et al. 2017 §5.4). Each mask is a pure function of the batch's
 * tokens, the model's dropout seed (drawn once from the spec's seed) and the call site, so a resumed run replays the
 * masks of an uninterrupted one bit for bit. Absent at evaluation and generation (tapes that do not record).
 * Attention-probability dropout is not offered: the fused attention kernel never materialises the probabilities.
 */
export interface DropoutContext {
  rate: number;
  /** The batch's token ids [B, T]. */
  seed: Tensor;
  /** The model's dropout seed. */
  salt: number;
}

export function dropoutContext(tape: Tape, rate: number, tokens: Tensor, salt: number): DropoutContext | undefined {
  return tape.recording && rate > 0 ? { rate, seed: tokens, salt } : undefined;
}

/** Drop from x at a call site (a small integer unique within the model). */
export function residualDropout(tape: Tape, x: Var, dropout: DropoutContext | undefined, site: number): Var {
  return dropout ? ops.dropout(tape, x, dropout.rate, dropout.seed, (dropout.salt + site) >>> 0) : x;
}
