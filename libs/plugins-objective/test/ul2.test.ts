import { describe, expect, it } from 'vitest';
import { Rng } from '@unilab/core';
import type { PackingBatcher } from '../src/packing.ts';
import { expectBatchContract } from './helpers/batch-contract.ts';
import { byteContext } from '../src/byte-token-view.ts';
import { pairOf, undoSpanCorruption } from './helpers/denoising.ts';
import { arrayStream, sotuDocuments, sotuSentences } from './helpers/real-text.ts';
import { expectPiecesFollowStream, expectResumesExactly, segmentsOf, type PackedSegment } from './helpers/segments.ts';
import { denoiserLabel, ul2, UL2_DENOISERS, type Ul2Denoiser } from '../src/ul2.ts';
import { formOf } from './helpers/forms.ts';

const documents = sotuDocuments(40);
const sentences = sotuSentences(30);

function batcher(
  architecture: string,
  shape: { batchSize: number; seqLen: number; encoderLen?: number },
  denoisers = UL2_DENOISERS,
  seed = 1,
  corpus = documents,
  sequentialSplit = 'uniform',
) {
  const context = byteContext(ul2.specialTokens, { ...shape, form: formOf(architecture) });
  const config = ul2.configSchema.parse({ denoisers, sequentialSplit }, 'objective');
  return { context, batcher: ul2.createBatcher(config, context, arrayStream(corpus), new Rng(seed)) as PackingBatcher };
}

function collect(b: PackingBatcher, pad: number, vocabSize: number, count: number): PackedSegment[] {
  const segments: PackedSegment[] = [];
  while (segments.length < count) {
    const batch = b.next();
    expectBatchContract(batch, pad, vocabSize);
    segments.push(...segmentsOf(batch));
  }
  return segments;
}

describe('ul2', () => {
  for (const [architecture, count] of [['decoder', 10_000], ['encoder-decoder', 10_000]] as const) {
    it(`${architecture}: over ${count} examples the denoiser and mode rates are within 2% and every text comes back`, () => {
      const { context, batcher: b } = batcher(architecture, { batchSize: 16, seqLen: 256, encoderLen: 256 }, UL2_DENOISERS, 1, sentences);
      const { NLU, NLG, S2S } = context.specialTokens;
      const segments = collect(b, context.specialTokens.pad, context.vocabSize, count);
      const modes = new Map<number, number>();
      const pieces = segments.map((segment) => {
        const { inputs, targets } = pairOf(segment);
        modes.set(inputs[0], (modes.get(inputs[0]) ?? 0) + 1);
        if (inputs[0] === S2S) return [...inputs.slice(1, -1), ...targets.slice(0, -1)];
        return undoSpanCorruption(inputs, targets, 1).piece;
      });
      expectPiecesFollowStream(pieces, sentences, 2);
      const n = segments.length;
      expect(Math.abs(modes.get(NLU)! / n - 0.4)).toBeLessThan(0.02);
      expect(Math.abs(modes.get(NLG)! / n - 0.4)).toBeLessThan(0.02);
      expect(Math.abs(modes.get(S2S)! / n - 0.2)).toBeLessThan(0.02);
      const counts = b.counts();
      for (const d of UL2_DENOISERS) expect(Math.abs(counts[denoiserLabel(d)] / n - d.rate), denoiserLabel(d)).toBeLessThan(0.02);
      console.info(`ul2 ${architecture}: ${n} examples; modes NLU ${(modes.get(NLU)! / n).toFixed(3)}, NLG ${(modes.get(NLG)! / n).toFixed(3)}, S2S ${(modes.get(S2S)! / n).toFixed(3)}; ` +
        UL2_DENOISERS.map((d) => `${denoiserLabel(d)} ${(counts[denoiserLabel(d)] / n).toFixed(3)}`).join(', '));
    });
  }

  // Span counts are rounded (T5's arithmetic), so a denoiser's mean span shows only on pieces several spans long.
  for (const denoiser of UL2_DENOISERS.filter((d) => d.paradigm !== 'S')) {
    const seqLen = denoiser.meanSpanLength! >= 64 ? 4096 : 512;
    it(`${denoiserLabel(denoiser)}: corruption within 1% and mean span within 5% over 10,000 spans`, () => {
      const { batcher: b } = batcher('decoder', { batchSize: 8, seqLen }, [{ ...denoiser, rate: 1 }]);
      let tokens = 0;
      let noise = 0;
      let spans = 0;
      let examples = 0;
      while (spans < 10_000) {
        for (const segment of segmentsOf(b.next())) {
          const { inputs, targets } = pairOf(segment);
          const r = undoSpanCorruption(inputs, targets, 1);
          tokens += r.piece.length;
          noise += r.noise;
          spans += r.spans;
          examples++;
        }
      }
      expect(Math.abs(noise / tokens - denoiser.noiseDensity)).toBeLessThan(0.01);
      expect(Math.abs(noise / spans / denoiser.meanSpanLength! - 1)).toBeLessThan(0.05);
      console.info(`ul2 ${denoiserLabel(denoiser)}: ${examples} examples, ${spans} spans, noise ${(noise / tokens).toFixed(4)}, mean span ${(noise / spans).toFixed(2)}`);
    });
  }

  it("S-denoiser, sequentialSplit 'fixed' (UL2 Table 1): the target is the last quarter of the piece", () => {
    const s: Ul2Denoiser = { paradigm: 'S', noiseDensity: 0.25, rate: 1 };
    const { batcher: b } = batcher('encoder-decoder', { batchSize: 4, seqLen: 128, encoderLen: 384 }, [s], 1, documents, 'fixed');
    for (const segment of segmentsOf(b.next())) {
      const { inputs, targets } = pairOf(segment);
      const total = inputs.length - 2 + targets.length - 1;
      expect(targets.length - 1).toBe(Math.round(total * 0.25));
    }
  });

  it("S-denoiser, sequentialSplit 'uniform' (the default; T5's prefix_lm): the input share is uniform over the piece", () => {
    expect(ul2.configSchema.parse({}, 'o').sequentialSplit).toBe('uniform');
    const s: Ul2Denoiser = { paradigm: 'S', noiseDensity: 0.25, rate: 1 };
    for (const [architecture, shape] of [['decoder', { batchSize: 8, seqLen: 128 }], ['encoder-decoder', { batchSize: 8, seqLen: 128, encoderLen: 128 }]] as const) {
      const { batcher: b } = batcher(architecture, shape, [s], 2);
      const shares: number[] = [];
      while (shares.length < 2000)
        for (const segment of segmentsOf(b.next())) {
          const { inputs, targets } = pairOf(segment);
          const input = inputs.length - 2; // mode token and eos
          const target = targets.length - 1; // eos
          if (input + target < 20) continue;
          expect(input).toBeGreaterThanOrEqual(1);
          expect(target).toBeGreaterThanOrEqual(1);
          shares.push(input / (input + target));
        }
      const quarter = (lo: number) => shares.filter((x) => x >= lo && x < lo + 0.25).length / shares.length;
      const mean = shares.reduce((a, x) => a + x, 0) / shares.length;
      console.info(`ul2 S uniform (${architecture}): ${shares.length} examples, mean input share ${mean.toFixed(3)}, quarters ${[0, 0.25, 0.5, 0.75].map((q) => quarter(q).toFixed(3)).join(' ')}`);
      expect(Math.abs(mean - 0.5)).toBeLessThan(0.03);
      for (const lo of [0, 0.25, 0.5, 0.75]) expect(Math.abs(quarter(lo) - 0.25)).toBeLessThan(0.04);
    }
  });

  it('is deterministic under a seed and resumes exactly from state()', () => {
    expectResumesExactly(() => batcher('decoder', { batchSize: 4, seqLen: 256 }, UL2_DENOISERS, 3).batcher);
    expectResumesExactly(() => batcher('encoder-decoder', { batchSize: 4, seqLen: 128, encoderLen: 256 }, UL2_DENOISERS, 3).batcher);
  });
});
