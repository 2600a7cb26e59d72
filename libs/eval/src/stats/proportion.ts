/**
 * An accuracy with its sample size and 95% confidence interval. The interval is Wilson's score interval (Wilson
 * 1927; Brown, Cai & DasGupta 2001 recommend it over the Wald interval, which collapses at 0 and 1 and undercovers
 * for the small n of a quick suite): the p whose score statistic |p̂ - p| / sqrt(p(1-p)/n) is at most z.
 */
export interface Proportion {
  successes: number;
  n: number;
  /** successes / n (0 when n is 0). */
  value: number;
  /** Wilson 95% interval, [0, 1] when n is 0. */
  ci95: [number, number];
}

/** The 97.5% quantile of the standard normal. */
export const Z95 = 1.959963984540054;

export function wilsonInterval(successes: number, n: number, z = Z95): [number, number] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`wilsonInterval: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(successes) || successes < 0 || successes > n) throw new Error(`wilsonInterval: successes must be an integer in [0, ${n}], got ${successes}`);
  if (n === 0) return [0, 1];
  const p = successes / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / n + z2n / (4 * n));
  // At 0 and n successes the bound is exactly 0 or 1; clamp away rounding.
  return [successes === 0 ? 0 : Math.max(0, centre - half), successes === n ? 1 : Math.min(1, centre + half)];
}

export function proportion(successes: number, n: number): Proportion {
  return { successes, n, value: n === 0 ? 0 : successes / n, ci95: wilsonInterval(successes, n) };
}
