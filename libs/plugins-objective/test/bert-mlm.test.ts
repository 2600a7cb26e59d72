import { describe, expect, it } from 'vitest';
import { Rng } from '@unilab/core';
import { bertMlm } from '../src/bert-mlm.ts';
import { expectBatchContract } from './helpers/batch-contract.ts';
import { byteContext } from '../src/byte-token-view.ts';
import { arrayStream, sotuSentences } from './helpers/real-text.ts';
import { expectPiecesFollowStream, expectResumesExactly, segmentsOf, type PackedSegment } from './helpers/segments.ts';

const sentences = sotuSentences(30);

function batcher(seed = 1) {
  const context = byteContext(bertMlm.specialTokens, { batchSize: 16, seqLen: 256, form: 'single-stack' });
  return { context, batcher: bertMlm.createBatcher(bertMlm.configSchema.parse({}, 'objective'), context, arrayStream(sentences), new Rng(seed)) };
}

describe('bert-mlm', () => {
  it('over 10,000 real sentences predicts 15% ± 1% of tokens, shown 80/10/10 (±2%) as [MASK]/random/kept, bidirectionally', () => {
    const { context, batcher: b } = batcher();
    const { MASK, pad } = context.specialTokens;
    const segments: PackedSegment[] = [];
    while (segments.length < 10_000) {
      const batch = b.next();
      expectBatchContract(batch, pad, context.vocabSize);
      segments.push(...segmentsOf(batch));
    }
    let tokens = 0;
    let predicted = 0;
    let masked = 0;
    let kept = 0;
    const pieces = segments.map((s) => {
      if (s.prefixEnd !== s.tokens.length) throw new Error('every example is fully bidirectional');
      tokens += s.tokens.length;
      return s.tokens.map((id, i) => {
        if (!s.lossMask[i]) return id;
        predicted++;
        if (id === MASK) masked++;
        else if (id === s.targets[i]) kept++;
        return s.targets[i];
      });
    });
    expectPiecesFollowStream(pieces, sentences, 1);
    expect(Math.abs(predicted / tokens - 0.15)).toBeLessThan(0.01);
    expect(Math.abs(masked / predicted - 0.8)).toBeLessThan(0.02);
    // A random replacement equals the original token 1 time in 256.
    expect(Math.abs(kept / predicted - 0.1 - 0.1 / 256)).toBeLessThan(0.02);
    expect(Math.abs((predicted - masked - kept) / predicted - 0.1)).toBeLessThan(0.02);
    console.info(`bert-mlm: ${segments.length} examples, predicted ${(predicted / tokens).toFixed(4)}, [MASK] ${(masked / predicted).toFixed(3)}, kept ${(kept / predicted).toFixed(3)}, random ${((predicted - masked - kept) / predicted).toFixed(3)}`);
  });

  it('is deterministic under a seed and resumes exactly from state()', () => {
    expectResumesExactly(() => batcher(9).batcher);
  });
});
