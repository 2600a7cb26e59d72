import { expect } from 'vitest';
import { PAD_SEGMENT, type Batch } from '@unilab/core';

/**
 * Asserts the Batch contract (libs/core/src/batch.ts): shapes, padding rules, loss only on real targets, positions
 * restarting per segment, encoder segments matching decoder segments.
 */
export function expectBatchContract(batch: Batch, pad: number, vocabSize: number): void {
  const size = batch.batchSize * batch.seqLen;
  for (const key of ['tokens', 'targets', 'lossMask', 'segmentIds', 'prefixEnd', 'positions'] as const)
    expect(batch[key].length, key).toBe(size);
  for (let row = 0; row < batch.batchSize; row++) {
    let previousSegment = PAD_SEGMENT;
    let segmentStart = 0;
    let paddingSeen = false;
    for (let t = 0; t < batch.seqLen; t++) {
      const at = row * batch.seqLen + t;
      const segment = batch.segmentIds[at];
      expect(batch.tokens[at]).toBeGreaterThanOrEqual(0);
      expect(batch.tokens[at]).toBeLessThan(vocabSize);
      if (segment === PAD_SEGMENT) {
        expect(batch.lossMask[at]).toBe(0);
        expect(batch.tokens[at]).toBe(pad);
        paddingSeen = true;
        continue;
      }
      expect(paddingSeen, 'padding only at the tail of a row').toBe(false);
      if (segment !== previousSegment) {
        segmentStart = t;
        previousSegment = segment;
      }
      expect(batch.prefixEnd[at]).toBeLessThanOrEqual(batch.seqLen);
      expect(batch.lossMask[at] === 0 || batch.lossMask[at] === 1).toBe(true);
      if (batch.lossMask[at] === 1) {
        expect(batch.targets[at]).toBeGreaterThanOrEqual(0);
        expect(batch.targets[at]).toBeLessThan(vocabSize);
      }
      if (!batch.blockPositions) expect(batch.positions[at], 'positions restart per segment').toBe(t - segmentStart);
    }
  }
  if (batch.blockPositions) expect(batch.blockPositions.length).toBe(size);
  if (batch.encoder) {
    const { encoderLen, tokens, segmentIds, positions, prefixEnd } = batch.encoder;
    expect(tokens.length).toBe(batch.batchSize * encoderLen);
    for (let row = 0; row < batch.batchSize; row++) {
      const decoderSegments = new Set(batch.segmentIds.subarray(row * batch.seqLen, (row + 1) * batch.seqLen));
      const encoderSegments = new Set(segmentIds.subarray(row * encoderLen, (row + 1) * encoderLen));
      decoderSegments.delete(PAD_SEGMENT);
      encoderSegments.delete(PAD_SEGMENT);
      expect([...encoderSegments], 'each decoder example has its own encoder example').toEqual([...decoderSegments]);
      let segmentStart = 0;
      for (let t = 0; t < encoderLen; t++) {
        const at = row * encoderLen + t;
        if (segmentIds[at] === PAD_SEGMENT) {
          expect(tokens[at]).toBe(pad);
          continue;
        }
        if (t === 0 || segmentIds[at - 1] !== segmentIds[at]) segmentStart = t;
        expect(positions[at]).toBe(t - segmentStart);
        expect(prefixEnd[at]).toBeGreaterThan(t);
      }
    }
  }
}
