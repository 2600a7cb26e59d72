/**
 * Intervals over seeds: a cell trained with k seeds gives k values of a metric, whose mean has Student's t interval
 * (df = k - 1); two conditions differ when Welch's interval of the difference of their means excludes 0 (Welch
 * 1947, the Welch–Satterthwaite degrees of freedom), which does not assume equal variances across conditions.
 */

/** 97.5% quantiles of Student's t for df = 1..30 (beyond, the normal's 1.96 is within 2%). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08,
  2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function tQuantile975(df: number): number {
  if (!(df >= 1)) throw new Error(`tQuantile975: degrees of freedom must be at least 1, got ${df}`);
  return df > 30 ? 1.96 : T975[Math.floor(df) - 1];
}

export interface SeedMean {
  mean: number;
  /** 95% t interval; NaN with fewer than two seeds. */
  low: number;
  high: number;
  seeds: number;
  /** Sample variance (NaN with one seed). */
  variance: number;
}

export function seedMean(values: readonly number[]): SeedMean {
  const k = values.length;
  if (k === 0) throw new Error('seedMean: no values');
  const mean = values.reduce((s, x) => s + x, 0) / k;
  if (k < 2) return { mean, low: NaN, high: NaN, seeds: k, variance: NaN };
  const variance = values.reduce((s, x) => s + (x - mean) ** 2, 0) / (k - 1);
  const half = tQuantile975(k - 1) * Math.sqrt(variance / k);
  return { mean, low: mean - half, high: mean + half, seeds: k, variance };
}

/** Welch's 95% interval of mean(a) - mean(b); both need two or more seeds. */
export function welchInterval(a: SeedMean, b: SeedMean): { difference: number; low: number; high: number; df: number } {
  if (a.seeds < 2 || b.seeds < 2) throw new Error('welchInterval: each side needs at least two seeds');
  const va = a.variance / a.seeds;
  const vb = b.variance / b.seeds;
  const difference = a.mean - b.mean;
  const se = Math.sqrt(va + vb);
  // Identical values on both sides: no spread, the difference is exact.
  if (se === 0) return { difference, low: difference, high: difference, df: Infinity };
  const df = (va + vb) ** 2 / (va ** 2 / (a.seeds - 1) + vb ** 2 / (b.seeds - 1));
  const half = tQuantile975(df) * se;
  return { difference, low: difference - half, high: difference + half, df };
}
