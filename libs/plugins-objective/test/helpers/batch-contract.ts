import { expect } from 'vitest';
import { PAD_SEGMENT, type Batch } from '@unilab/core';

/**
 * Asserts the Batch contract (libs/core/src/batch.ts): shapes, padding only at the tail of a row (pad token,
 * PAD_SEGMENT, loss 0), loss only where the target is a real token, positions restarting per segment (unless the
 * objective makes its own, like GLM), encoder segments matching decoder segments. Problems are gathered in plain
 * code and asserted once, so checking hundreds of batches stays fast.
 */
export function expectBatchContract(batch: Batch, pad: number, vocabSize: number): void {
  expect(batchContractProblems(batch, pad, vocabSize)).toEqual([]);
}

export function batchContractProblems(batch: Batch, pad: number, vocabSize: number): string[] {
  const problems: string[] = [];
  const problem = (text: string) => {
    if (problems.length < 10) problems.push(text);
  };
  const size = batch.batchSize * batch.seqLen;
  for (const key of ['tokens', 'targets', 'lossMask', 'segmentIds', 'prefixEnd', 'positions'] as const)
    if (batch[key].length !== size) problem(`${key} has length ${batch[key].length}, expected ${size}`);
  if (batch.blockPositions && batch.blockPositions.length !== size) problem('blockPositions has the wrong length');
  for (let row = 0; row < batch.batchSize; row++) {
    let segmentStart = 0;
    let paddingSeen = false;
    for (let t = 0; t < batch.seqLen; t++) {
      const at = row * batch.seqLen + t;
      const segment = batch.segmentIds[at];
      const token = batch.tokens[at];
      if (!(token >= 0 && token < vocabSize)) problem(`[${row}, ${t}]: token ${token} outside the vocabulary`);
      if (segment === PAD_SEGMENT) {
        paddingSeen = true;
        if (batch.lossMask[at] !== 0) problem(`[${row}, ${t}]: padding with loss`);
        if (token !== pad) problem(`[${row}, ${t}]: padding token ${token} is not pad`);
        continue;
      }
      if (paddingSeen) problem(`[${row}, ${t}]: a segment after padding`);
      if (t === 0 || batch.segmentIds[at - 1] !== segment) segmentStart = t;
      if (batch.prefixEnd[at] < 0 || batch.prefixEnd[at] > batch.seqLen) problem(`[${row}, ${t}]: prefixEnd ${batch.prefixEnd[at]}`);
      const loss = batch.lossMask[at];
      if (loss !== 0 && loss !== 1) problem(`[${row}, ${t}]: loss mask ${loss}`);
      if (loss === 1 && !(batch.targets[at] >= 0 && batch.targets[at] < vocabSize))
        problem(`[${row}, ${t}]: target ${batch.targets[at]} outside the vocabulary`);
      if (!batch.blockPositions && batch.positions[at] !== t - segmentStart)
        problem(`[${row}, ${t}]: position ${batch.positions[at]}, expected ${t - segmentStart} (restart per segment)`);
    }
  }
  if (batch.encoder) {
    const { encoderLen, tokens, segmentIds, positions, prefixEnd } = batch.encoder;
    if (tokens.length !== batch.batchSize * encoderLen) problem('encoder tokens have the wrong length');
    for (let row = 0; row < batch.batchSize; row++) {
      const decoderSegments = new Set(batch.segmentIds.subarray(row * batch.seqLen, (row + 1) * batch.seqLen));
      const encoderSegments = new Set(segmentIds.subarray(row * encoderLen, (row + 1) * encoderLen));
      decoderSegments.delete(PAD_SEGMENT);
      encoderSegments.delete(PAD_SEGMENT);
      if ([...decoderSegments].sort().join() !== [...encoderSegments].sort().join())
        problem(`row ${row}: encoder segments ${[...encoderSegments]} differ from decoder segments ${[...decoderSegments]}`);
      let segmentStart = 0;
      for (let t = 0; t < encoderLen; t++) {
        const at = row * encoderLen + t;
        if (segmentIds[at] === PAD_SEGMENT) {
          if (tokens[at] !== pad) problem(`encoder [${row}, ${t}]: padding token is not pad`);
          continue;
        }
        if (t === 0 || segmentIds[at - 1] !== segmentIds[at]) segmentStart = t;
        if (positions[at] !== t - segmentStart) problem(`encoder [${row}, ${t}]: position ${positions[at]}`);
        if (prefixEnd[at] <= t) problem(`encoder [${row}, ${t}]: not bidirectional`);
      }
    }
  }
  return problems;
}
