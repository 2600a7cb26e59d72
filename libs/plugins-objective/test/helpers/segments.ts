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
    for (let start = 0; start < batch.seqLen; ) {
      const segment = batch.segmentIds[base + start];
      if (segment === PAD_SEGMENT) break;
      let end = start + 1;
      while (end < batch.seqLen && batch.segmentIds[base + end] === segment) end++;
      const slice = <T extends Int32Array | Float32Array>(values: T) => Array.from(values.subarray(base + start, base + end));
      const prefixEnds = slice(batch.prefixEnd);
      const prefixEnd = prefixEnds[0] === 0 ? 0 : prefixEnds[0] - start;
      if (prefixEnds.some((p) => p !== prefixEnds[0])) throw new Error(`row ${row}, segment ${segment}: the prefixEnd differs within one example`);
      const lossMask = slice(batch.lossMask);
      const targets = slice(batch.targets);
      out.push({
        tokens: slice(batch.tokens),
        targets,
        lossMask,
        positions: slice(batch.positions),
        blockPositions: batch.blockPositions ? slice(batch.blockPositions) : lossMask.map(() => 0),
        prefixEnd,
        encoderTokens: encoderTokensOf(batch, row, segment),
        predicted: targets.filter((_, i) => lossMask[i] === 1),
      });
      start = end;
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

/** Pulls batches until at least `count` examples were packed; `check` sees each batch first (e.g. the batch contract). */
export function collectSegments(batcher: Batcher, count: number, check?: (batch: Batch) => void): PackedSegment[] {
  const out: PackedSegment[] = [];
  while (out.length < count) {
    const batch = batcher.next();
    check?.(batch);
    out.push(...segmentsOf(batch));
  }
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
