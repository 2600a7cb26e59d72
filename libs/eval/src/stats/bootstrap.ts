import { Rng } from '@unilab/core';

/** A figure with its 95% (or other) confidence interval and the number of units it was measured on. */
export interface Estimate {
  value: number;
  /** Interval bounds; NaN when fewer than two units were measured. */
  low: number;
  high: number;
  /** Units resampled: documents for bits per byte and NLL. */
  n: number;
  /** Confidence level of [low, high], e.g. 0.95. */
  level: number;
}

export interface BootstrapOptions {
  /** Resamples (default 1000). */
  resamples?: number;
  /** Confidence level (default 0.95). */
  level?: number;
  /** Seed of the resampling (default 0): the interval is reproducible. */
  seed?: number;
}

/**
 * A ratio of sums over units, Σ numerator / Σ denominator (e.g. nats over bytes per document), with a percentile
 * bootstrap interval from resampling whole units with replacement (Efron & Tibshirani 1993, ch. 13). Resampling
 * documents rather than tokens respects that tokens of one document are not independent; the ratio of sums weighs
 * every byte equally, as the point estimate does.
 */
export function bootstrapRatio(numerators: readonly number[], denominators: readonly number[], options: BootstrapOptions = {}): Estimate {
  const n = numerators.length;
  if (denominators.length !== n) throw new Error(`bootstrapRatio: ${n} numerators but ${denominators.length} denominators`);
  if (n === 0) throw new Error('bootstrapRatio: no units to estimate from');
  const { resamples = 1000, level = 0.95, seed = 0 } = options;
  if (!Number.isInteger(resamples) || resamples < 1) throw new Error(`bootstrapRatio: resamples must be an integer >= 1, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new Error(`bootstrapRatio: level must be in (0, 1), got ${level}`);
  const ratio = (num: number, den: number) => (den > 0 ? num / den : NaN);
  const value = ratio(sum(numerators), sum(denominators));
  // One unit has no spread to resample: its interval is unknown, not zero-width.
  if (n < 2) return { value, low: NaN, high: NaN, n, level };
  const rng = new Rng(seed);
  const draws = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let num = 0;
    let den = 0;
    for (let i = 0; i < n; i++) {
      const pick = rng.int(n);
      num += numerators[pick];
      den += denominators[pick];
    }
    draws[b] = ratio(num, den);
  }
  draws.sort();
  const alpha = (1 - level) / 2;
  return { value, low: quantile(draws, alpha), high: quantile(draws, 1 - alpha), n, level };
}

/** A mean over units with its bootstrap interval (a ratio with every denominator 1). */
export function bootstrapMean(values: readonly number[], options: BootstrapOptions = {}): Estimate {
  return bootstrapRatio(values, values.map(() => 1), options);
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

/** Linear-interpolation quantile of sorted values (type 7, R's default). */
function quantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}
