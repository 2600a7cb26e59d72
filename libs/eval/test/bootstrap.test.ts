import { Rng } from '@unilab/core';
import { describe, expect, it } from 'vitest';
import { bootstrapMean, bootstrapRatio } from '../src/index.ts';

describe('per-document bootstrap', () => {
  it('estimates a ratio of sums, reproducibly, with an interval around it', () => {
    const nats = [120, 80, 200, 150, 90];
    const bytes = [100, 50, 160, 100, 70];
    const e = bootstrapRatio(nats, bytes, { seed: 3 });
    expect(e.value).toBeCloseTo(640 / 480, 12);
    expect(e.n).toBe(5);
    expect(e.level).toBe(0.95);
    expect(e.low).toBeLessThan(e.value);
    expect(e.high).toBeGreaterThan(e.value);
    expect(bootstrapRatio(nats, bytes, { seed: 3 })).toEqual(e);
    expect(bootstrapRatio(nats, bytes, { seed: 4 })).not.toEqual(e);
    // Identical documents leave nothing to resample: a zero-width interval.
    expect(bootstrapRatio([2, 2, 2], [1, 1, 1])).toMatchObject({ value: 2, low: 2, high: 2 });
    // One document has no spread to resample: the interval is unknown.
    expect(bootstrapRatio([3], [2])).toEqual({ value: 1.5, low: NaN, high: NaN, n: 1, level: 0.95 });
  });

  it('gives about the normal-theory width for the mean of many units (±1.96 standard errors)', () => {
    const rng = new Rng(9);
    const values = Array.from({ length: 400 }, () => rng.uniform() * 10);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
    const e = bootstrapMean(values, { resamples: 2000 });
    const expected = 2 * 1.96 * (sd / Math.sqrt(values.length));
    expect(Math.abs(e.high - e.low - expected) / expected).toBeLessThan(0.1);
    expect(Math.abs((e.high + e.low) / 2 - mean)).toBeLessThan(0.1 * expected);
  });

  it('refuses what it cannot estimate', () => {
    expect(() => bootstrapRatio([], [])).toThrow('bootstrapRatio: no units to estimate from');
    expect(() => bootstrapRatio([1], [1, 2])).toThrow('bootstrapRatio: 1 numerators but 2 denominators');
    expect(() => bootstrapMean([1, 2], { level: 1 })).toThrow('bootstrapRatio: level must be in (0, 1), got 1');
    expect(() => bootstrapMean([1, 2], { resamples: 0 })).toThrow('bootstrapRatio: resamples must be an integer >= 1, got 0');
  });
});
