import { linear, scale, add } from '../autodiff/ops.ts';
import type { Tape, Var } from '../autodiff/tape.ts';
import type { Backend } from '../backend/backend.ts';
import type { Rng } from '../rng.ts';
import { createParameter, type Parameter } from './parameter.ts';

/**
 * LoRA (Hu et al. 2021, eq. 3): a frozen projection W [in, out] plus a trainable low-rank update,
 *   h = x·W + (alpha / r)·(x·A)·B,   A [in, r], B [r, out].
 * A starts Gaussian and B at zero, so BA = 0 and the adapted model is exactly the pre-trained one at the start of
 * fine-tuning (§4.1). The update stays factored (never W + s·AB), so a step costs two thin matmuls and the backward
 * never forms W's full-size gradient: the saving LoRA's paper reports beside the optimizer state it removes.
 */
export interface LoraParams {
  /** The pre-trained projection this adapts. */
  readonly base: Parameter;
  readonly a: Parameter;
  readonly b: Parameter;
  /** alpha / r, fixed: Hu et al. (§4.1) scale the update so that changing r needs little retuning of the learning rate. */
  readonly scale: number;
}

/** The settings of LoRA: rank r, scale alpha and the projections it adapts (the last part of their names). */
export interface LoraSpec {
  rank: number;
  alpha: number;
  /**
   * The last parts of the adapted weights' names, as the architecture declares them (ArchitecturePlugin
   * .tunableProjections: the built-ins' wq, wk, wv, wo, cross_wq, ..., w_gate, w_up, w_down). A run names roles
   * ("query", "value": Hu et al. §7.1), which the runner resolves to these before the model is built.
   */
  targets: readonly string[];
}

/** The projection name a LoRA target refers to: the last part of a weight's name (layers.3.wq -> wq). */
export function projectionName(weight: Parameter): string {
  return weight.name.slice(weight.name.lastIndexOf('.') + 1);
}

/** LoRA factors for `base` when its projection is one of the spec's targets (else undefined). Names: <base>.lora_a, .lora_b. */
export function createLora(backend: Backend, rng: Rng, base: Parameter, spec: LoraSpec | undefined): LoraParams | undefined {
  if (!spec || !spec.targets.includes(projectionName(base))) return undefined;
  const [inDim, outDim] = base.value.shape;
  const r = spec.rank;
  // A ~ N(0, 1/in): x·A keeps the variance of x's components, whatever the width.
  const a = new Float32Array(inDim * r);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal() / Math.sqrt(inDim);
  return {
    base,
    a: createParameter(backend, `${base.name}.lora_a`, a, [inDim, r], true),
    b: createParameter(backend, `${base.name}.lora_b`, new Float32Array(r * outDim), [r, outDim], true),
    scale: spec.alpha / r,
  };
}

export function loraParameters(lora: LoraParams | undefined): Parameter[] {
  return lora ? [lora.a, lora.b] : [];
}

/** x·W, plus (alpha / r)·(x·A)·B when the projection has LoRA factors. */
export function projection(tape: Tape, x: Var, weight: Parameter, lora?: LoraParams): Var {
  const y = linear(tape, x, tape.param(weight));
  if (!lora) return y;
  const low = linear(tape, linear(tape, x, tape.param(lora.a)), tape.param(lora.b));
  return add(tape, y, scale(tape, low, lora.scale));
}
