import { describe, expect, it } from 'vitest';
import { Rng, createReferenceBackend } from '@unilab/core';
import { ByteTokenizer, readSotu } from '@unilab/data';
import { attentionSpectra, createDefaultRegistry, effectiveRank, numericalRank, parseTrainingSpec, buildModel, singleExampleBatch, singularValues, summariseRanks } from '../src/index.ts';

describe('singular values (one-sided Jacobi)', () => {
  it('agrees with closed forms: a diagonal, a rank-one outer product, a 2 × 2', () => {
    expect(Array.from(singularValues(Float64Array.from([3, 0, 0, 0, -5, 0, 0, 0, 1]), 3, 3))).toEqual([5, 3, 1]);
    const u = [1, 2, 3];
    const v = [4, 5, 6, 7];
    const outer = Float64Array.from(u.flatMap((x) => v.map((y) => x * y)));
    const s = singularValues(outer, 3, 4);
    expect(s[0]).toBeCloseTo(Math.hypot(...u) * Math.hypot(...v), 10);
    expect(numericalRank(s, 1e-9)).toBe(1);
    // [[2, 1], [1, 2]]: eigenvalues 3 and 1, symmetric positive, so those are its singular values.
    const two = singularValues(Float64Array.from([2, 1, 1, 2]), 2, 2);
    expect(two[0]).toBeCloseTo(3, 12);
    expect(two[1]).toBeCloseTo(1, 12);
  });

  it('keeps the Frobenius norm on a random 40 × 40 matrix, and the effective rank is between 1 and n', () => {
    const rng = new Rng(5);
    const a = Float64Array.from({ length: 1600 }, () => rng.normal());
    const frobenius = a.reduce((s, x) => s + x * x, 0);
    const s = singularValues(a.slice(), 40, 40);
    expect(s.reduce((t, x) => t + x * x, 0) / frobenius).toBeCloseTo(1, 10);
    const e = effectiveRank(s);
    expect(e).toBeGreaterThan(1);
    expect(e).toBeLessThanOrEqual(40);
    expect(effectiveRank(Float64Array.from([1, 0, 0]))).toBe(1);
  });
});

describe('attention rank on real text (Su 2023: causal attention is full rank, bidirectional need not be)', () => {
  it('per head: the causal matrix has full numerical rank; the bidirectional one of the same q, k has a lower effective rank', async () => {
    const registry = createDefaultRegistry();
    const tokenizer = new ByteTokenizer();
    const backend = createReferenceBackend();
    const spec = parseTrainingSpec({ seed: 3, model: { architecture: 'prefix-lm', config: { layers: 2, dModel: 32, heads: 4 } } });
    const model = buildModel(spec, registry, backend, tokenizer.vocabSize);
    const text = (await readSotu())[0].text.slice(0, 48);
    const spectra = await attentionSpectra(model, backend, singleExampleBatch(tokenizer.encode(text), 48), { tolerance: 1e-9 });
    expect(spectra).toHaveLength(2 * 4 * 2);
    for (const s of spectra) {
      expect(s.singularValues).toHaveLength(48);
      // A row-stochastic matrix maps the ones vector to itself, so its largest singular value is at least 1.
      expect(s.singularValues[0]).toBeGreaterThanOrEqual(1 - 1e-9);
    }
    for (let layer = 0; layer < 2; layer++)
      for (let head = 0; head < 4; head++) {
        const causal = spectra.find((s) => s.layer === layer && s.head === head && s.mask === 'causal')!;
        const bidirectional = spectra.find((s) => s.layer === layer && s.head === head && s.mask === 'bidirectional')!;
        expect(causal.numericalRank).toBe(48);
        expect(bidirectional.effectiveRank).toBeLessThan(causal.effectiveRank);
      }
    const summary = summariseRanks(spectra);
    console.info(
      `attention rank, untrained prefix-lm d32 on 48 bytes of SOTU: causal numerical ${summary.causal.numericalRank}, effective ${summary.causal.effectiveRank.toFixed(2)}; ` +
        `bidirectional numerical ${summary.bidirectional.numericalRank.toFixed(2)}, effective ${summary.bidirectional.effectiveRank.toFixed(2)}`,
    );
    expect(summary.bidirectional.effectiveRank).toBeLessThan(summary.causal.effectiveRank / 2);
  });
});
