import { createReferenceBackend, parameterCount as countParams, Rng } from '@unilab/core';
import { decoder, encoderDecoderArchitecture, prefixLmArchitecture } from '@unilab/plugins-arch';
import { describe, expect, it } from 'vitest';
import { scaleBatch } from './scale-batches.ts';
import { windowStart } from './config.ts';
import { DECODER_SIZES, SEQUENCE_LENGTHS, TOKENS_PER_STEP, matchEncoderDecoder, modelConfig, parameterCount, pointKey, scaleGrid } from './scale-grid.ts';

describe('bench-scale grid', () => {
  it('has the issue sizes: about 1M, 5M, 20M and 50M decoder parameters at vocabulary 8192', () => {
    const millions = DECODER_SIZES.map((s) => parameterCount('decoder', s) / 1e6);
    for (const [got, want] of millions.map((m, i) => [m, [1, 5, 20, 50][i]]))
      expect(Math.abs(got - want) / want, `${got.toFixed(2)}M against ~${want}M`).toBeLessThan(0.16);
  });

  it('counts parameters as the model itself does', () => {
    const backend = createReferenceBackend();
    const [one, five] = DECODER_SIZES;
    const built = (plugin: typeof decoder, arch: 'decoder' | 'prefix-lm' | 'encoder-decoder', shape: typeof one) =>
      countParams(plugin.create(modelConfig(arch, shape) as never, { backend, vocabSize: 8192, rng: new Rng(1) }).params);
    expect(built(decoder, 'decoder', one)).toBe(parameterCount('decoder', one));
    expect(built(prefixLmArchitecture, 'prefix-lm', one)).toBe(parameterCount('prefix-lm', one));
    const encDec = matchEncoderDecoder(five);
    expect(built(encoderDecoderArchitecture as never, 'encoder-decoder', encDec)).toBe(parameterCount('encoder-decoder', encDec));
  });

  it('matches the encoder-decoder to the decoder within 1% of its parameters, with symmetric stacks', () => {
    for (const dec of DECODER_SIZES) {
      const m = matchEncoderDecoder(dec);
      expect(m.dModel).toBe(dec.dModel);
      expect(m.encoderLayers! + m.decoderLayers!).toBe(dec.layers);
      const gap = Math.abs(parameterCount('encoder-decoder', m) - parameterCount('decoder', dec)) / parameterCount('decoder', dec);
      expect(gap, dec.label).toBeLessThan(0.01);
    }
  });

  it('lays out the full and the quick grid: each point once, every point at the same tokens a step', () => {
    const full = scaleGrid();
    const keys = full.map(pointKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(full.filter((p) => p.series.includes('size')).map((p) => p.shape.label)).toEqual(['1M', '5M', '20M', '50M']);
    expect(full.filter((p) => p.series.includes('sequence')).map((p) => p.seqLen).sort((a, b) => a - b)).toEqual([...SEQUENCE_LENGTHS]);
    expect(full.filter((p) => p.series.includes('architecture')).map((p) => p.architecture)).toEqual(['decoder', 'prefix-lm', 'encoder-decoder']);
    // The 5M decoder at 256 is in all three series and measured once.
    expect(full.find((p) => pointKey(p) === 'decoder/5M/256')!.series).toEqual(['size', 'sequence', 'architecture']);
    for (const p of full) expect(p.batchSize * p.seqLen).toBe(TOKENS_PER_STEP);
    const quick = scaleGrid({ quick: true });
    expect(quick.length).toBeLessThan(full.length);
    expect(quick.filter((p) => p.series.includes('size')).map((p) => p.shape.label)).toEqual(['1M', '5M']);
    expect(quick.some((p) => p.seqLen === 2048)).toBe(true);
  });
});

describe('bench-scale batches', () => {
  const stream = Int32Array.from({ length: 10_000 }, (_, i) => i);
  const shape = { seqLen: 8, batchSize: 2, prefixLen: 4 };

  it('reads the windows of bench-small for the decoder', () => {
    const b = scaleBatch(stream, { ...shape, architecture: 'decoder', prefixLen: 0 }, 3);
    const w = windowStart(3, 1, 2, 8, stream.length);
    expect([...b.tokens.subarray(8)]).toEqual([...stream.subarray(w, w + 8)]);
    expect([...b.targets.subarray(8)]).toEqual([...stream.subarray(w + 1, w + 9)]);
    expect([...b.prefixEnd].every((v) => v === 0)).toBe(true);
    expect([...b.lossMask].every((v) => v === 1)).toBe(true);
  });

  it('gives the prefix LM a bidirectional prefix and the loss after it', () => {
    const b = scaleBatch(stream, { ...shape, architecture: 'prefix-lm' }, 0);
    expect([...b.prefixEnd.subarray(0, 8)]).toEqual(new Array(8).fill(4));
    expect([...b.lossMask.subarray(0, 8)]).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
  });

  it('splits the encoder-decoder window: the encoder reads the first half, the decoder predicts the rest', () => {
    const b = scaleBatch(stream, { ...shape, architecture: 'encoder-decoder' }, 2);
    const w = windowStart(2, 0, 2, 8, stream.length);
    expect(b.seqLen).toBe(4);
    expect(b.encoder!.encoderLen).toBe(4);
    expect([...b.encoder!.tokens.subarray(0, 4)]).toEqual([...stream.subarray(w, w + 4)]);
    expect([...b.tokens.subarray(0, 4)]).toEqual([...stream.subarray(w + 4, w + 8)]);
    expect([...b.targets.subarray(0, 4)]).toEqual([...stream.subarray(w + 5, w + 9)]);
    expect([...b.encoder!.prefixEnd].every((v) => v === 4)).toBe(true);
    expect([...b.positions.subarray(0, 4)]).toEqual([0, 1, 2, 3]);
  });

  it('refuses a prefix outside the row', () => {
    expect(() => scaleBatch(stream, { ...shape, architecture: 'prefix-lm', prefixLen: 8 }, 0)).toThrow(/prefixLen must be in 1..7/);
  });
});
