import { describe, expect, it } from 'vitest';
import { Rng } from '@unilab/core';
import { noiseCounts, sampleNoiseSpans, spanCorruptionLengths } from '../src/span-corruption.ts';
import { spanCorruption } from '../src/t5-span-corruption.ts';
import { expectBatchContract } from './helpers/batch-contract.ts';
import { byteContext } from '../src/byte-token-view.ts';
import { arrayStream, sotuDocuments, sotuSentences } from './helpers/real-text.ts';
import { pairOf, undoSpanCorruption } from './helpers/denoising.ts';
import { collectSegments, expectPiecesFollowStream, expectResumesExactly, segmentsOf, type PackedSegment } from './helpers/segments.ts';
import { formOf } from './helpers/forms.ts';

const sentences = sotuSentences(30);

function batcher(architecture: string, shape: { batchSize: number; seqLen: number; encoderLen?: number }, documents = sentences, seed = 1) {
  const context = byteContext(spanCorruption.specialTokens, { ...shape, form: formOf(architecture) });
  const config = spanCorruption.configSchema.parse({}, 'objective');
  return { context, batcher: spanCorruption.createBatcher(config, context, arrayStream(documents), new Rng(seed)) };
}

describe('span-corruption (T5)', () => {
  it("follows T5's length arithmetic: 568 raw tokens make 512 inputs and 114 targets", () => {
    expect(spanCorruptionLengths(568, { noiseDensity: 0.15, meanSpanLength: 3 })).toEqual({ inputs: 512, targets: 114 });
    const { batcher: b } = batcher('encoder-decoder', { batchSize: 2, seqLen: 114, encoderLen: 512 }, sotuDocuments(2));
    const [first] = segmentsOf(b.next());
    expect(first.encoderTokens.length).toBe(512);
    expect(first.tokens.length).toBe(114);
    expect(undoSpanCorruption(first.encoderTokens, first.targets).piece.length).toBe(568);
  });

  it('declares the decoder rows its encoder-decoder form needs (512 → 114), and packs them nearly full', () => {
    const config = spanCorruption.configSchema.parse({}, 'objective');
    expect(spanCorruption.decoderLength!(config, 512)).toBe(114);
    expect(spanCorruption.decoderLength!(spanCorruption.configSchema.parse({ noiseDensity: 0.5, meanSpanLength: 3 }, 'o'), 512)).toBeGreaterThan(300);
    const { batcher: b } = batcher('encoder-decoder', { batchSize: 8, seqLen: 114, encoderLen: 512 }, sotuDocuments(20));
    let pad = 0;
    let encoderPad = 0;
    for (let i = 0; i < 4; i++) {
      const batch = b.next();
      pad += batch.segmentIds.filter((s) => s < 0).length / batch.segmentIds.length / 4;
      encoderPad += batch.encoder!.segmentIds.filter((s) => s < 0).length / batch.encoder!.segmentIds.length / 4;
    }
    console.info(`span-corruption 512/114 rows: decoder padding ${(100 * pad).toFixed(1)}%, encoder padding ${(100 * encoderPad).toFixed(1)}%`);
    expect(pad).toBeLessThan(0.1);
    expect(encoderPad).toBeLessThan(0.1);
  });

  it('does not always end on a noise span (the TF quirk) and places spans without overlap', () => {
    const rng = new Rng(3);
    let endsOnNoise = 0;
    let startsOnNoise = 0;
    for (let i = 0; i < 2000; i++) {
      const spans = sampleNoiseSpans(40, { noiseDensity: 0.15, meanSpanLength: 3 }, rng);
      expect(spans.length).toBe(noiseCounts(40, { noiseDensity: 0.15, meanSpanLength: 3 }).noiseSpans);
      for (let k = 1; k < spans.length; k++) expect(spans[k].start).toBeGreaterThan(spans[k - 1].end);
      if (spans[spans.length - 1].end === 40) endsOnNoise++;
      if (spans[0].start === 0) startsOnNoise++;
    }
    expect(endsOnNoise / 2000).toBeLessThan(0.5);
    expect(Math.abs(endsOnNoise - startsOnNoise) / 2000).toBeLessThan(0.05);
  });

  for (const architecture of ['decoder', 'encoder-decoder']) {
    it(`${architecture}: over 10,000 real sentences, 15% ± 1% noise in spans of mean 3 ± 5%, text reconstructed exactly`, () => {
      const { context, batcher: b } = batcher(architecture, { batchSize: 32, seqLen: 256, encoderLen: 256 });
      const segments: PackedSegment[] = [];
      while (segments.length < 10_000) {
        const batch = b.next();
        expectBatchContract(batch, context.specialTokens.pad, context.vocabSize);
        segments.push(...segmentsOf(batch));
      }
      let tokens = 0;
      let noise = 0;
      let spans = 0;
      const pieces = segments.map((segment) => {
        const { inputs, targets } = pairOf(segment);
        if (inputs[inputs.length - 1] !== context.specialTokens.eos || targets[targets.length - 1] !== context.specialTokens.eos)
          throw new Error('inputs and targets must end with eos');
        const r = undoSpanCorruption(inputs, targets);
        tokens += r.piece.length;
        noise += r.noise;
        spans += r.spans;
        return r.piece;
      });
      expectPiecesFollowStream(pieces, sentences, 2);
      expect(Math.abs(noise / tokens - 0.15)).toBeLessThan(0.01);
      expect(Math.abs(noise / spans / 3 - 1)).toBeLessThan(0.05);
      console.info(`span-corruption ${architecture}: ${segments.length} examples, noise ${(noise / tokens).toFixed(4)}, mean span ${(noise / spans).toFixed(3)}`);
    });
  }

  it('is deterministic under a seed and resumes exactly from state()', () => {
    const make = (seed: number) => batcher('encoder-decoder', { batchSize: 4, seqLen: 64, encoderLen: 128 }, sentences, seed).batcher;
    expect(collectSegments(make(5), 50)).toEqual(collectSegments(make(5), 50));
    expect(collectSegments(make(5), 50)).not.toEqual(collectSegments(make(6), 50));
    expectResumesExactly(() => make(5));
    expectResumesExactly(() => batcher('decoder', { batchSize: 4, seqLen: 96 }, sotuDocuments(3), 8).batcher);
  });
});
