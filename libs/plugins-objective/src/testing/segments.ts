import { expect } from 'vitest';
import { PAD_SEGMENT, type Batch, type Batcher } from '@unilab/core';

/** One packed example read back out of a batch row. */
export interface PackedSegment {
  tokens: number[];
  targets: number[];
  lossMask: number[];
  positions: number[];
  blockPositions: number[];
  /** prefixEnd relative to the segment start (0 stays 0). */
  prefixEnd: number;
  encoderTokens: number[];
  /** The predicted tokens, in order (targets where the loss counts). */
  predicted: number[];
}

export function segmentsOf(batch: Batch): PackedSegment[] {
  const out: PackedSegment[] = [];
  for (let row = 0; row < batch.batchSize; row++) {
    const base = row * batch.seqLen;
    let current: PackedSegment | null = null;
    let start = 0;
    for (let t = 0; t < batch.seqLen; t++) {
      const at = base + t;
      const segment = batch.segmentIds[at];
      if (segment === PAD_SEGMENT) continue;
      if (t === 0 || batch.segmentIds[at - 1] !== segment) {
        start = t;
        current = {
          tokens: [],
          targets: [],
          lossMask: [],
          positions: [],
          blockPositions: [],
          prefixEnd: batch.prefixEnd[at] === 0 ? 0 : batch.prefixEnd[at] - t,
          encoderTokens: encoderTokensOf(batch, row, segment),
          predicted: [],
        };
        out.push(current);
      }
      const s = current!;
      if ((batch.prefixEnd[at] === 0 ? 0 : batch.prefixEnd[at] - start) !== s.prefixEnd)
        throw new Error(`row ${row}, position ${t}: the prefixEnd differs within one example`);
      s.tokens.push(batch.tokens[at]);
      s.targets.push(batch.targets[at]);
      s.lossMask.push(batch.lossMask[at]);
      s.positions.push(batch.positions[at]);
      s.blockPositions.push(batch.blockPositions?.[at] ?? 0);
      if (batch.lossMask[at] === 1) s.predicted.push(batch.targets[at]);
    }
  }
  return out;
}

function encoderTokensOf(batch: Batch, row: number, segment: number): number[] {
  if (!batch.encoder) return [];
  const { encoderLen, tokens, segmentIds } = batch.encoder;
  const out: number[] = [];
  for (let t = 0; t < encoderLen; t++) if (segmentIds[row * encoderLen + t] === segment) out.push(tokens[row * encoderLen + t]);
  return out;
}

/** Pulls batches until at least `count` examples were packed. */
export function collectSegments(batcher: Batcher, count: number): PackedSegment[] {
  const out: PackedSegment[] = [];
  while (out.length < count) out.push(...segmentsOf(batcher.next()));
  return out;
}

/** A batcher saved after `skip` batches and restored into a fresh one continues exactly like the original. */
export function expectResumesExactly(makeBatcher: () => Batcher, skip = 3, compare = 4): void {
  const straight = makeBatcher();
  const expected = Array.from({ length: skip + compare }, () => straight.next());
  const interrupted = makeBatcher();
  for (let i = 0; i < skip; i++) interrupted.next();
  const saved = JSON.parse(JSON.stringify(interrupted.state()));
  const resumed = makeBatcher();
  resumed.next();
  resumed.restore(saved);
  for (let i = skip; i < skip + compare; i++) expect(resumed.next()).toEqual(expected[i]);
}

/**
 * Checks that reconstructed pieces, in order, are consecutive pieces of the document stream; a document rest shorter
 * than `minimum` may be skipped (the objectives' documented rule).
 */
export function expectPiecesFollowStream(pieces: readonly number[][], documents: readonly Int32Array[], minimum: number): void {
  let doc = 0;
  let offset = 0;
  const current = () => documents[doc % documents.length];
  for (const piece of pieces) {
    while (current().length - offset < minimum) {
      doc++;
      offset = 0;
    }
    const expected = current().subarray(offset, offset + piece.length);
    if (expected.length !== piece.length || piece.some((id, i) => id !== expected[i]))
      expect(piece, `piece at document ${doc}, offset ${offset}`).toEqual(Array.from(expected));
    offset += piece.length;
  }
}
