import type { LoraParams, Parameter, Tape, Var } from '@unilab/core';
import { ops, projection } from '@unilab/core';

/**
 * A sublayer's output one step before the end: the input of its projection into the residual stream (attention's Wo,
 * the FFN's W_down) and that projection's weight. Kept apart so a pre-norm block can fuse the projection with the
 * residual add (ops.linearResidual: the add in the matmul's epilogue, no [B, T, d] temporary, no copy of dy).
 */
export interface Projected {
  input: Var;
  weight: Parameter;
  lora?: LoraParams;
}

/** The projection itself: input · weight (+ LoRA). */
export function project(tape: Tape, p: Projected): Var {
  return projection(tape, p.input, p.weight, p.lora);
}

/**
 * residual + project(p), fused when nothing stands between the projection and the add (no LoRA factors on the
 * projection); the same bits either way.
 */
export function projectOnto(tape: Tape, residual: Var, p: Projected): Var {
  if (p.lora) return ops.add(tape, residual, project(tape, p));
  return ops.linearResidual(tape, residual, p.input, tape.param(p.weight));
}
