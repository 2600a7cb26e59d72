import type { AttentionMask, Backend, LoraParams, Parameter, Rng, RotationRole, Tape, Tensor } from '@unilab/core';
import { Var, createLora, loraParameters, ops, projection } from '@unilab/core';
import type { BlockConfig } from './config.ts';
import { project, type Projected } from './projected.ts';
import { normalParameter } from './init.ts';
import type { ModelTuning } from './tuning.ts';

/**
 * Multi-head attention without biases (LLaMA). Queries have `heads` heads of size d / heads; keys and values have
 * `kvHeads` heads that groups of query heads share (GQA; MQA when kvHeads = 1). Shapes: x [B, T, d] -> [B, T, d].
 */
export interface AttentionParams {
  wq: Parameter;
  wk: Parameter;
  wv: Parameter;
  wo: Parameter;
  /** LoRA factors of the projections a fine-tuning run adapts (core/nn/lora.ts). */
  lora: { wq?: LoraParams; wk?: LoraParams; wv?: LoraParams; wo?: LoraParams };
}

/** `prefix` ends in the projection stem: 'layers.0.w' gives layers.0.wq, ..., 'layers.0.cross_w' layers.0.cross_wq, .... */
export function createAttention(backend: Backend, rng: Rng, prefix: string, c: BlockConfig, residualStd: number, tuning?: ModelTuning): AttentionParams {
  const d = c.dModel;
  const kvDim = (d / c.heads) * c.kvHeads;
  const wq = normalParameter(backend, rng, `${prefix}q`, [d, d], 0.02);
  const wk = normalParameter(backend, rng, `${prefix}k`, [d, kvDim], 0.02);
  const wv = normalParameter(backend, rng, `${prefix}v`, [d, kvDim], 0.02);
  // Projections into the residual stream start smaller so the stream's variance does not grow with depth (GPT-2).
  const wo = normalParameter(backend, rng, `${prefix}o`, [d, d], residualStd);
  const adapt = (w: Parameter) => tuning && createLora(backend, tuning.rng, w, tuning.modules.lora);
  return { wq, wk, wv, wo, lora: { wq: adapt(wq), wk: adapt(wk), wv: adapt(wv), wo: adapt(wo) } };
}

export function attentionParameters(p: AttentionParams): Parameter[] {
  return [p.wq, p.wk, p.wv, p.wo, ...[p.lora.wq, p.lora.wk, p.lora.wv, p.lora.wo].flatMap(loraParameters)];
}

/** How positions enter one attention call: rotation of q and k, and an additive bias [H, Tq, Tk]. */
export interface AttentionPositions {
  rotate?: (x: Var, role: RotationRole) => Var;
  bias?: Var;
}

/** Keys and values of a memory [B, Tk, d]: [B, Tk, Hkv, D] each, the keys rotated by their positions. */
export function keysAndValues(tape: Tape, memory: Var, p: AttentionParams, c: BlockConfig, rotate?: AttentionPositions['rotate']): { keys: Var; values: Var } {
  const [b, tk] = memory.shape;
  const headDim = c.dModel / c.heads;
  const keys = ops.reshape(tape, projection(tape, memory, p.wk, p.lora.wk), [b, tk, c.kvHeads, headDim]);
  const values = ops.reshape(tape, projection(tape, memory, p.wv, p.lora.wv), [b, tk, c.kvHeads, headDim]);
  return { keys: rotate ? rotate(keys, 'key') : keys, values };
}

/**
 * Keys and values an attention call reads from a decoding session (kv-cache.ts) instead of only its own memory:
 * - append: self-attention; the call's keys and values are written into the cache [1, capacity, Hkv, D] at row
 *   `slot`, and the call attends to the whole cache (the mask hides rows not written yet);
 * - fixed: cross-attention; the encoder's keys and values, projected once when the session started.
 */
export type AttentionCache =
  | { kind: 'append'; keys: Tensor; values: Tensor; slot: number }
  | { kind: 'fixed'; keys: Var; values: Var };

/**
 * Wo · attention(Wq h, Wk m, Wv m) with the mask descriptors; m = h for self-attention, the encoder output for
 * cross-attention (where positions play no part, as in T5).
 */
export function attentionForward(
  tape: Tape,
  h: Var,
  memory: Var,
  p: AttentionParams,
  c: BlockConfig,
  mask: AttentionMask,
  positions: AttentionPositions = {},
  cache?: AttentionCache,
): Var {
  return project(tape, attentionContext(tape, h, memory, p, c, mask, positions, cache));
}

/** attentionForward without its last step: the attended values [B, Tq, d] and Wo, for projectOnto (projected.ts). */
export function attentionContext(
  tape: Tape,
  h: Var,
  memory: Var,
  p: AttentionParams,
  c: BlockConfig,
  mask: AttentionMask,
  positions: AttentionPositions = {},
  cache?: AttentionCache,
): Projected {
  const [b, tq] = h.shape;
  const headDim = c.dModel / c.heads;
  let q = ops.reshape(tape, projection(tape, h, p.wq, p.lora.wq), [b, tq, c.heads, headDim]);
  let { keys, values } = cache?.kind === 'fixed' ? cache : keysAndValues(tape, memory, p, c, positions.rotate);
  if (positions.rotate) q = positions.rotate(q, 'query');
  if (cache?.kind === 'append') {
    const row = c.kvHeads * headDim;
    tape.backend.copyInto(cache.keys, keys.value, cache.slot * row);
    tape.backend.copyInto(cache.values, values.value, cache.slot * row);
    keys = new Var(cache.keys, false);
    values = new Var(cache.values, false);
  }
  const attended = ops.attention(tape, q, keys, values, mask, 1 / Math.sqrt(headDim), positions.bias);
  return { input: ops.reshape(tape, attended, [b, tq, c.dModel]), weight: p.wo, lora: p.lora.wo };
}
