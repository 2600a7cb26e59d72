import { describe, expect, it } from 'vitest';
import { Rng } from '@unilab/core';
import type { PackingBatcher } from './packing.ts';
import { expectBatchContract } from './testing/batchContract.ts';
import { byteContext } from './byteTokenView.ts';
import { arrayStream, sotuSentences } from './testing/realText.ts';
import { expectPiecesFollowStream, expectResumesExactly, segmentsOf, type PackedSegment } from './testing/segments.ts';
import { unilm, type UnilmMode } from './unilm.ts';

const sentences = sotuSentences(30);

function batcher(seed = 1) {
  const context = byteContext(unilm.specialTokens, { batchSize: 16, seqLen: 256, architecture: 'unilm' });
  return { context, batcher: unilm.createBatcher(unilm.configSchema.parse({}, 'objective'), context, arrayStream(sentences), new Rng(seed)) as PackingBatcher };
}

describe('unilm', () => {
  it('over 10,000 examples: modes 1/3, 1/3, 1/6, 1/6 (±2%), 15% ± 1% predicted, text comes back in every mode', () => {
    const { context, batcher: b } = batcher();
    const { eos, MASK, pad } = context.specialTokens;
    const segments: PackedSegment[] = [];
    while (segments.length < 10_000) {
      const batch = b.next();
      expectBatchContract(batch, pad, context.vocabSize);
      segments.push(...segmentsOf(batch));
    }
    const modes: Record<UnilmMode, number> = { bidirectional: 0, seq2seq: 0, 'left-to-right': 0, 'right-to-left': 0 };
    let text = 0;
    let predicted = 0;
    let masked = 0;
    const pieces = segments.map((s) => {
      const n = s.tokens.length;
      const mode: UnilmMode =
        s.prefixEnd === n ? 'bidirectional' : s.prefixEnd > 0 ? 'seq2seq' : s.tokens[0] === eos ? 'right-to-left' : 'left-to-right';
      modes[mode]++;
      let sequence = s.tokens.map((id, i) => (s.lossMask[i] ? s.targets[i] : id));
      predicted += s.lossMask.reduce((a, m) => a + m, 0);
      masked += s.tokens.filter((id, i) => s.lossMask[i] && id === MASK).length;
      if (mode === 'right-to-left') sequence = sequence.reverse();
      if (mode === 'seq2seq' && sequence[s.prefixEnd - 1] !== eos) throw new Error('the source ends with eos');
      if (sequence[sequence.length - 1] !== eos) throw new Error('the example ends with eos');
      const piece = sequence.filter((_, i) => i !== sequence.length - 1 && !(mode === 'seq2seq' && i === s.prefixEnd - 1));
      text += piece.length;
      return piece;
    });
    expectPiecesFollowStream(pieces, sentences, 2);
    const n = segments.length;
    expect(Math.abs(modes.bidirectional / n - 1 / 3)).toBeLessThan(0.02);
    expect(Math.abs(modes.seq2seq / n - 1 / 3)).toBeLessThan(0.02);
    expect(Math.abs(modes['left-to-right'] / n - 1 / 6)).toBeLessThan(0.02);
    expect(Math.abs(modes['right-to-left'] / n - 1 / 6)).toBeLessThan(0.02);
    expect(Math.abs(predicted / text - 0.15)).toBeLessThan(0.01);
    expect(Math.abs(masked / predicted - 0.8)).toBeLessThan(0.02);
    console.info(`unilm: ${n} examples, ` + Object.entries(modes).map(([m, c]) => `${m} ${(c / n).toFixed(3)}`).join(', ') + `, predicted ${(predicted / text).toFixed(4)}, [MASK] ${(masked / predicted).toFixed(3)}`);
  });

  it('right-to-left reverses the example: each position sees the original text to its right', () => {
    const context = byteContext(unilm.specialTokens, { batchSize: 1, seqLen: 16, architecture: 'unilm' });
    const config = unilm.configSchema.parse({ bidirectionalRate: 0, seq2seqRate: 0, leftToRightRate: 0, rightToLeftRate: 1 }, 'objective');
    const text = Int32Array.from(new TextEncoder().encode('abcdefghij'));
    const batch = unilm.createBatcher(config, context, arrayStream([text]), new Rng(2)).next();
    const restored = Array.from(batch.tokens.subarray(0, 11)).map((id, i) => (batch.lossMask[i] ? batch.targets[i] : id));
    expect(restored).toEqual([context.specialTokens.eos, ...Array.from(text).reverse()]);
    expect(Array.from(batch.positions.subarray(0, 11))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(Array.from(batch.prefixEnd.subarray(0, 11)).every((p) => p === 0)).toBe(true);
  });

  it('is deterministic under a seed and resumes exactly from state()', () => {
    expectResumesExactly(() => batcher(5).batcher);
  });
});
