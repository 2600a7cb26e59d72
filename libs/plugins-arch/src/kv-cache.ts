import {
  PAD_SEGMENT,
  Var,
  checkDecodingStep,
  type AttentionMask,
  type Backend,
  type DecodingSession,
  type DecodingStep,
  type PositionalEncoding,
  type Tape,
  type Tensor,
} from '@unilab/core';
import type { AttentionCache } from './attention-layer.ts';
import type { StackDecoding } from './stack.ts';

/**
 * The key/value cache of incremental decoding (core's incremental-decoding.ts) for this library's stacks. Every
 * self-attention layer owns two tensors [1, capacity, Hkv, D] allocated when the session starts; a step writes its
 * tokens' keys (already rotated, so RoPE's absolute positions are baked in) and values at their rows and attends
 * over the whole buffer. Rows not written yet are hidden by the mask: their key segment is PAD_SEGMENT, so the
 * attention kernels skip them, and the prefixEnd of each new token is raised to its own index + 1 so the kernels'
 * rule (j <= i or j < prefixEnd[i], i counted within the step) becomes the sequence's rule with i counted from the
 * start. Every op then computes each new token's row exactly as a full forward over the sequence would (matmul and
 * attention sum in an order that depends only on the row), so the logits are the same bits.
 */
export interface LayerSlots {
  keys: Tensor;
  values: Tensor;
}

export function allocateLayerSlots(backend: Backend, layers: number, capacity: number, kvHeads: number, headDim: number): LayerSlots[] {
  return Array.from({ length: layers }, () => ({
    keys: backend.zeros([1, capacity, kvHeads, headDim]),
    values: backend.zeros([1, capacity, kvHeads, headDim]),
  }));
}

/** A stack can decode incrementally unless its encoding adds a bias it cannot give row by row. */
export function canDecode(encoding: PositionalEncoding): boolean {
  return !encoding.attentionBias || encoding.attentionBiasRows !== undefined;
}

/** The bias rows [H, queries, keys] of the step's tokens, or none when the encoding adds no bias. */
export function attentionBiasRows(tape: Tape, encoding: PositionalEncoding, firstQuery: number, queries: number, keys: number): Var | undefined {
  if (!encoding.attentionBias) return undefined;
  if (!encoding.attentionBiasRows) throw new Error('this positional encoding gives no attention-bias rows: the model cannot decode incrementally (canDecode)');
  return encoding.attentionBiasRows(tape, firstQuery, queries, keys);
}

/** What block `layer` reads from the session in this step. */
export function blockCache(decoding: StackDecoding, layer: number): { self: AttentionCache; cross?: AttentionCache } {
  const { self, cross } = decoding.blocks[layer];
  return { self: { kind: 'append', keys: self.keys, values: self.values, slot: decoding.slot }, cross: cross && { kind: 'fixed', ...cross } };
}

/** Self-attention mask of a step whose n tokens start at row `slot`, against all `capacity` rows of the cache. */
export function decodingMask(tape: Tape, step: DecodingStep, slot: number, capacity: number): AttentionMask {
  const be = tape.backend;
  const n = step.tokens.length;
  const keySegments = new Int32Array(capacity).fill(PAD_SEGMENT, slot + n);
  const prefixEnd = Int32Array.from(step.prefixEnd, (end, i) => Math.max(end, slot + i + 1));
  return {
    querySegments: tape.own(be.zeros([1, n], 'i32')),
    keySegments: tape.own(be.fromArray(keySegments, [1, capacity], 'i32')),
    prefixEnd: tape.own(be.fromArray(prefixEnd, [1, n], 'i32')),
  };
}

/** A tensor computed on a step's tape, copied out so it outlives the tape (the encoder's output and cross keys). */
export function keepBeyondTape(backend: Backend, v: Var): Var {
  const kept = backend.zeros(v.shape);
  backend.copyInto(kept, v.value, 0);
  return new Var(kept, false);
}

/**
 * The session bookkeeping shared by every architecture: length, checks, truncation, release. `run` computes the
 * logits of a checked step whose tokens start at row `slot`.
 */
export function createDecodingSession(
  backend: Backend,
  capacity: number,
  owned: readonly Tensor[],
  run: (tape: Tape, step: DecodingStep, slot: number) => Var,
): DecodingSession {
  let length = 0;
  let disposed = false;
  const live = () => {
    if (disposed) throw new Error('decoding session: already disposed');
  };
  return {
    get length() {
      return length;
    },
    capacity,
    append(tape, step) {
      live();
      checkDecodingStep({ length, capacity }, step, tape);
      const out = run(tape, step, length);
      length += step.tokens.length;
      return out;
    },
    truncate(to) {
      live();
      if (!Number.isInteger(to) || to < 0 || to > length) throw new RangeError(`decoding session: cannot truncate ${length} tokens to ${to}`);
      length = to;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const t of owned) backend.dispose(t);
    },
  };
}

/** Checks the capacity a session is started with. */
export function checkCapacity(capacity: number): void {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`startDecoding: capacity must be a positive integer, got ${capacity}`);
}

/** Every tensor of these layers' caches, for the session to release. */
export function slotTensors(slots: readonly LayerSlots[]): Tensor[] {
  return slots.flatMap((s) => [s.keys, s.values]);
}
