import { Tape, uploadBatch, type Backend, type DecodingSession, type Model, type Var } from '@unilab/core';
import type { ContinuationRow } from './continuation-row.ts';
import { rowsToBatch } from './row-batch.ts';

/**
 * The logits of a row's `next` token, the one that predicts the token after the answer: from a full forward over the
 * row, or from a key/value-cached decoding session that appends only what changed since the previous row. Both compute
 * the same values (bit for bit: the architectures' decoding sessions are tested against their forward).
 */
export interface NextTokenLogits {
  logits(row: ContinuationRow): Promise<Float32Array>;
  /**
   * Full forwards run, tokens appended to a cache, and prefills: steps that could not keep what the cache held up to
   * the previous row's query (the prompt, and the window each time it moved). Counters for tests and benchmarks.
   */
  readonly counts: { forwards: number; appended: number; prefills: number };
  dispose(): void;
}

/** Row `index` of logits [1, rows, V]. */
async function logitsRow(backend: Backend, logits: Var, rows: number, index: number): Promise<Float32Array> {
  const all = (await backend.read(logits.value)) as Float32Array;
  const v = all.length / rows;
  return all.slice(index * v, (index + 1) * v);
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
        // One row: nothing is padded, so the pad id is never written.
        return await logitsRow(backend, model.forward(tape, uploadBatch(tape, rowsToBatch([row], 0))), row.tokens.length, row.next);
      } finally {
        tape.release();
      }
    },
    dispose() {},
  };
}

/** A token of a row as the cache sees it: what it is, where, and the last index it may see + 1. */
const entry = (row: ContinuationRow, i: number) => [row.tokens[i], row.positions[i], row.blockPositions?.[i] ?? 0, Math.max(i + 1, row.prefixEnd)];

/**
 * How many leading tokens of `held` (the row the cache holds) the cache may keep for `next`: tokens equal in id,
 * positions and horizon, and none of them seeing past the kept part (their keys and values were computed without
 * what follows).
 */
function reusable(held: ContinuationRow | null, next: ContinuationRow): number {
  if (!held) return 0;
  let k = 0;
  const n = Math.min(held.tokens.length, next.tokens.length);
  while (k < n && entry(held, k).every((x, j) => x === entry(next, k)[j])) k++;
  // The largest k' <= k whose tokens all see only tokens before k'.
  const reach = [0];
  for (let i = 0; i < k; i++) reach.push(Math.max(reach[i], entry(next, i)[3]));
  while (reach[k] > k) k--;
  // The logits of `next` are needed: append at least it.
  return Math.min(k, next.next);
}

/**
 * Decode with the model's key/value cache (Model.startDecoding), or null when the model has none. Each row keeps what
 * the cache holds of the previous one and appends the rest; a new session starts when the encoder input changes
 * (encoder-decoder). A model whose startDecoding returns null is decoded with full forwards instead.
 */
export function cachedLogits(model: Model, backend: Backend, capacity: number): NextTokenLogits | null {
  if (!model.startDecoding) return null;
  const counts = { forwards: 0, appended: 0, prefills: 0 };
  const fallback = fullForwardLogits(model, backend);
  let session: DecodingSession | null = null;
  let held: ContinuationRow | null = null;
  /** A row whose encoder input the session read. */
  let encoderOf: ContinuationRow | null = null;
  let unsupported = false;
  const sameEncoder = (a: ContinuationRow | null, b: ContinuationRow) => (a?.encoderTokens ?? []).join() === (b.encoderTokens ?? []).join();
  return {
    counts,
    async logits(row) {
      if (unsupported) {
        counts.forwards++;
        return fallback.logits(row);
      }
      if (!session || !sameEncoder(encoderOf, row)) {
        session?.dispose();
        held = null;
        encoderOf = row;
        const encoder = row.encoderTokens && { tokens: Int32Array.from(row.encoderTokens), positions: Int32Array.from(row.encoderTokens, (_, i) => i) };
        session = model.startDecoding!({ capacity, encoder });
        if (!session) {
          unsupported = true;
          return this.logits(row);
        }
      }
      const previous = held;
      const keep = reusable(previous, row);
      if (!previous || keep < previous.next) counts.prefills++;
      session.truncate(keep);
      // Until this step succeeds the cache holds only the kept part: a failed step is followed by a fresh prefill.
      held = null;
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
        held = row;
        return await logitsRow(backend, logits, n, row.next - keep);
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
