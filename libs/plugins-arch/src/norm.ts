import type { Backend, Parameter, Tape, Var } from '@unilab/core';
import { createParameter, ops } from '@unilab/core';
import { onesParameter } from './init.ts';
import type { Norm } from './config.ts';

/** A norm's gain and, for LayerNorm, its bias (RMSNorm has none: Zhang & Sennrich 2019). */
export interface NormParams {
  weight: Parameter;
  bias?: Parameter;
}

export function createNorm(backend: Backend, name: string, kind: Norm, d: number): NormParams {
  const weight = onesParameter(backend, name, d);
  if (kind === 'rmsnorm') return { weight };
  return { weight, bias: createParameter(backend, `${name}_bias`, new Float32Array(d), [d], false) };
}

export function normParameters(p: NormParams): Parameter[] {
  return p.bias ? [p.weight, p.bias] : [p.weight];
}

export function normForward(tape: Tape, x: Var, p: NormParams, eps: number): Var {
  return p.bias
    ? ops.layernorm(tape, x, tape.param(p.weight), tape.param(p.bias), eps)
    : ops.rmsnorm(tape, x, tape.param(p.weight), eps);
}
