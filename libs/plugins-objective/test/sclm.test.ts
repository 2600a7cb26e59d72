import { describe, expect, it } from 'vitest';
import { Rng } from '@unilab/core';
import type { PackingBatcher } from '../src/packing.ts';
import { sclm } from '../src/sclm.ts';
import { expectBatchContract } from './helpers/batch-contract.ts';
import { byteContext } from '../src/byte-token-view.ts';
import { pairOf, undoSpanCorruption } from './helpers/denoising.ts';
import { arrayStream, sotuSentences } from './helpers/real-text.ts';
import { expectResumesExactly, segmentsOf, type PackedSegment } from './helpers/segments.ts';
import { formOf } from './helpers/forms.ts';

const sentences = sotuSentences(30);

function batcher(architecture: string, seed = 1) {
  const context = byteContext(sclm.specialTokens, { batchSize: 16, seqLen: 256, encoderLen: 256, form: formOf(architecture) });
  const config = sclm.configSchema.parse({}, 'objective');
  return { context, batcher: sclm.createBatcher(config, context, arrayStream(sentences), new Rng(seed)) as PackingBatcher };
}

describe('sclm', () => {
  for (const architecture of ['decoder', 'encoder-decoder']) {
    it(`${architecture}: mixes causal LM and span corruption 50/50 (±2%) over 10,000 examples, 15% noise in mean-3 spans`, () => {
      const { context, batcher: b } = batcher(architecture);
      const { eos, pad } = context.specialTokens;
      const segments: PackedSegment[] = [];
      while (segments.length < 10_000) {
        const batch = b.next();
        expectBatchContract(batch, pad, context.vocabSize);
        segments.push(...segmentsOf(batch));
      }
      let causal = 0;
      let tokens = 0;
      let noise = 0;
      let spans = 0;
      for (const segment of segments) {
        const { inputs, targets } = pairOf(segment);
        const isCausal = architecture === 'decoder' ? segment.prefixEnd === 0 : inputs.length === 1 && inputs[0] === eos;
        if (isCausal) {
          causal++;
          continue;
        }
        const r = undoSpanCorruption(inputs, targets);
        tokens += r.piece.length;
        noise += r.noise;
        spans += r.spans;
      }
      const n = segments.length;
      expect(Math.abs(causal / n - 0.5)).toBeLessThan(0.02);
      expect(b.counts().causalExamples).toBe(causal);
      expect(Math.abs(noise / tokens - 0.15)).toBeLessThan(0.01);
      expect(Math.abs(noise / spans / 3 - 1)).toBeLessThan(0.05);
      console.info(`sclm ${architecture}: ${n} examples, causal ${(causal / n).toFixed(3)}, noise ${(noise / tokens).toFixed(4)}, mean span ${(noise / spans).toFixed(3)}`);
    });
  }

  it('is deterministic under a seed and resumes exactly from state()', () => {
    expectResumesExactly(() => batcher('decoder', 2).batcher);
    expectResumesExactly(() => batcher('encoder-decoder', 2).batcher);
  });
});
