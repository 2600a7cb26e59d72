/**
 * The Wilson score interval for a binomial proportion (Wilson 1927; Brown, Cai & DasGupta 2001 recommend it over
 * the normal approximation for small n or rates near 0 and 1): successes k of n, z = 1.96 for 95%.
 */
export function wilsonInterval(k: number, n: number, z = 1.959963984540054): { low: number; high: number } {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`wilsonInterval: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`wilsonInterval: k must be an integer in [0, n], got ${k}`);
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
