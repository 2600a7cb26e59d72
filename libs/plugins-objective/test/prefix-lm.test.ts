import { describe, expect, it } from 'vitest';
import { Rng } from '@unilab/core';
import { prefixLm } from '../src/prefix-lm.ts';
import { expectBatchContract } from './helpers/batch-contract.ts';
import { byteContext } from '../src/byte-token-view.ts';
import { arrayStream, sotuSentences } from './helpers/real-text.ts';
import { collectSegments, expectPiecesFollowStream, expectResumesExactly, segmentsOf, type PackedSegment } from './helpers/segments.ts';
import { formOf } from './helpers/forms.ts';

const sentences = sotuSentences(30);

function batcher(architecture: string, seed = 1) {
  const context = byteContext(prefixLm.specialTokens, { batchSize: 16, seqLen: 192, encoderLen: 160, form: formOf(architecture) });
  return { context, batcher: prefixLm.createBatcher({}, context, arrayStream(sentences), new Rng(seed)) };
}

describe('prefixlm', () => {
  for (const architecture of ['decoder', 'encoder-decoder']) {
    it(`${architecture}: splits 10,000 real sentences at uniform points; prefix + suffix give the text back`, () => {
      const { context, batcher: b } = batcher(architecture);
      const { eos, pad } = context.specialTokens;
      const segments: PackedSegment[] = [];
      while (segments.length < 10_000) {
        const batch = b.next();
        expectBatchContract(batch, pad, context.vocabSize);
        segments.push(...segmentsOf(batch));
      }
      let relativeSplitSum = 0;
      const pieces = segments.map((s) => {
        const inputs = architecture === 'encoder-decoder' ? s.encoderTokens : s.tokens.slice(0, s.prefixEnd);
        if (architecture === 'decoder' && s.lossMask.indexOf(1) !== s.prefixEnd - 1) throw new Error('loss must start at the last input');
        expect(inputs[inputs.length - 1]).toBe(eos);
        expect(s.predicted[s.predicted.length - 1]).toBe(eos);
        const piece = [...inputs.slice(0, -1), ...s.predicted.slice(0, -1)];
        relativeSplitSum += (inputs.length - 1) / piece.length;
        return piece;
      });
      expectPiecesFollowStream(pieces, sentences, 2);
      // A split uniform over 1..n-1 sits on average in the middle of the piece.
      expect(Math.abs(relativeSplitSum / segments.length - 0.5)).toBeLessThan(0.02);
    });
  }

  it('is deterministic under a seed and resumes exactly from state()', () => {
    expect(collectSegments(batcher('decoder', 4).batcher, 40)).toEqual(collectSegments(batcher('decoder', 4).batcher, 40));
    expectResumesExactly(() => batcher('decoder', 4).batcher);
    expectResumesExactly(() => batcher('encoder-decoder', 4).batcher);
  });
});
