import { Tape, uploadBatch, type Backend, type Batch, type DecodingSession, type Model, type Var } from '@unilab/core';
import type { PromptRow } from './prompt-format.ts';

/**
 * The logits of a row's last token, the one that predicts the next: from a full forward over the row, or from a
 * key/value-cached decoding session that appends only what changed since the previous row. Both compute the same
 * values (bit for bit: the architectures' decoding sessions are tested against their forward).
 */
export interface NextTokenLogits {
  logits(row: PromptRow): Promise<Float32Array>;
  /**
   * Full forwards run, tokens appended to a cache, and prefills: appends of more than two tokens (a prompt, or the
   * window after it moved), where a decoding step appends one (two for a cloze). Counters for tests and benchmarks.
   */
  readonly counts: { forwards: number; appended: number; prefills: number };
  dispose(): void;
}

/** The batch a full forward reads for a row (one sequence, one segment). */
export function rowBatch(row: PromptRow): Batch {
  const t = row.tokens.length;
  const batch: Batch = {
    batchSize: 1,
    seqLen: t,
    tokens: Int32Array.from(row.tokens),
    targets: new Int32Array(t),
    lossMask: new Float32Array(t),
    segmentIds: new Int32Array(t),
    prefixEnd: new Int32Array(t).fill(row.prefixEnd),
    positions: Int32Array.from(row.positions),
  };
  if (row.blockPositions) batch.blockPositions = Int32Array.from(row.blockPositions);
  if (row.encoder) {
    const e = row.encoder.length;
    batch.encoder = {
      tokens: Int32Array.from(row.encoder),
      encoderLen: e,
      segmentIds: new Int32Array(e),
      prefixEnd: new Int32Array(e).fill(e),
      positions: Int32Array.from({ length: e }, (_, i) => i),
    };
  }
  return batch;
}

async function lastRow(backend: Backend, logits: Var, rows: number): Promise<Float32Array> {
  const all = (await backend.read(logits.value)) as Float32Array;
  return all.slice(((rows - 1) * all.length) / rows);
}

/** Re-run the model over the whole row for every token (no cache): the reference the cached path must equal. */
export function fullForwardLogits(model: Model, backend: Backend): NextTokenLogits {
  const counts = { forwards: 0, appended: 0, prefills: 0 };
  return {
    counts,
    async logits(row) {
      const tape = new Tape(backend, false);
      try {
        counts.forwards++;
        return await lastRow(backend, model.forward(tape, uploadBatch(tape, rowBatch(row))), row.tokens.length);
      } finally {
        tape.release();
      }
    },
    dispose() {},
  };
}

/** A token of a row as the cache sees it: what it is, where, and the last index it may see + 1. */
const entry = (row: PromptRow, i: number) => [row.tokens[i], row.positions[i], row.blockPositions?.[i] ?? 0, Math.max(i + 1, row.prefixEnd)];

/**
 * How many leading tokens of `held` (the row the cache holds) the cache may keep for `next`: tokens equal in id,
 * positions and horizon, and none of them seeing past the kept part (their keys and values were computed without
 * what follows).
 */
function reusable(held: PromptRow | null, next: PromptRow): number {
  if (!held) return 0;
  let k = 0;
  const n = Math.min(held.tokens.length, next.tokens.length);
  while (k < n && entry(held, k).every((x, j) => x === entry(next, k)[j])) k++;
  // The largest k' <= k whose tokens all see only tokens before k'.
  const reach = [0];
  for (let i = 0; i < k; i++) reach.push(Math.max(reach[i], entry(next, i)[3]));
  while (reach[k] > k) k--;
  // The last token's logits are needed: append at least it.
  return Math.min(k, next.tokens.length - 1);
}

/**
 * Decode with the model's key/value cache (Model.startDecoding), or null when the model has none. A new session
 * starts when the encoder input changes (encoder-decoder) or the model cannot keep any of the previous row; a model
 * whose startDecoding returns null is decoded with full forwards instead.
 */
export function cachedLogits(model: Model, backend: Backend, capacity: number): NextTokenLogits | null {
  if (!model.startDecoding) return null;
  const counts = { forwards: 0, appended: 0, prefills: 0 };
  const fallback = fullForwardLogits(model, backend);
  let session: DecodingSession | null = null;
  let held: PromptRow | null = null;
  let unsupported = false;
  const sameEncoder = (a: PromptRow | null, b: PromptRow) => (a?.encoder ?? []).join() === (b.encoder ?? []).join();
  return {
    counts,
    async logits(row) {
      if (unsupported) {
        counts.forwards++;
        return fallback.logits(row);
      }
      if (!session || !sameEncoder(held, row)) {
        session?.dispose();
        held = null;
        const encoder = row.encoder && { tokens: Int32Array.from(row.encoder), positions: Int32Array.from(row.encoder, (_, i) => i) };
        session = model.startDecoding!({ capacity, encoder });
        if (!session) {
          unsupported = true;
          return this.logits(row);
        }
      }
      const keep = reusable(held, row);
      session.truncate(keep);
      const slice = (values: readonly number[]) => Int32Array.from(values.slice(keep));
      const n = row.tokens.length - keep;
      const tape = new Tape(backend, false);
      try {
        const logits = session.append(tape, {
          tokens: slice(row.tokens),
          positions: slice(row.positions),
          blockPositions: row.blockPositions && slice(row.blockPositions),
          prefixEnd: new Int32Array(n).fill(row.prefixEnd),
        });
        counts.appended += n;
        if (n > 2) counts.prefills++;
        held = row;
        return await lastRow(backend, logits, n);
      } finally {
        tape.release();
      }
    },
    dispose() {
      session?.dispose();
      session = null;
    },
  };
}
