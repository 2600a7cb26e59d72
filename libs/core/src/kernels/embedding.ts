import type { FloatArray } from './types.ts';

/**
 * Token embedding lookup.
 *   ids: [N] (int), table: [V, D], y: [N, D].
 * Backward scatters: dtable[ids[i]] += dy[i] (dtable [V, D] starts at zero).
 */
export function embeddingForward(ids: Int32Array, table: FloatArray, y: FloatArray, n: number, d: number, v: number): void {
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (id < 0 || id >= v) throw new RangeError(`embedding: token id ${id} at position ${i} is outside the vocabulary [0, ${v})`);
    y.set(table.subarray(id * d, id * d + d), i * d);
  }
}

export function embeddingBackward(ids: Int32Array, dy: FloatArray, dtable: FloatArray, n: number, d: number, v: number): void {
  dtable.fill(0, 0, v * d);
  for (let i = 0; i < n; i++) {
    const row = ids[i] * d;
    for (let j = 0; j < d; j++) dtable[row + j] += dy[i * d + j];
  }
}
