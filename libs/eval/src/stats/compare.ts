import { wilsonInterval, type Proportion } from './proportion.ts';

/**
 * Do two results differ? The paradigm study asks this of every pair of models, so the rule is fixed here:
 * - the same test items scored by both models (paired): the exact McNemar test (a two-sided sign test on the items
 *   exactly one model got right); they differ when p < 0.05. Pairing removes the items' own difficulty from the
 *   comparison, so it finds differences that two overlapping intervals hide.
 * - different items, or only the summaries: Newcombe's hybrid score interval for a difference of two independent
 *   proportions (Newcombe 1998, "Interval estimation for the difference between independent proportions", method
 *   10, built from the two Wilson intervals); they differ when the interval excludes 0. This is less conservative than
 *   asking whether the two 95% intervals overlap, which at equal widths amounts to a test at about the 0.6% level.
 */
export interface Comparison {
  method: 'mcnemar-exact' | 'newcombe-hybrid-score';
  /** a's accuracy minus b's. */
  difference: number;
  /** 95% interval of the difference (Newcombe), absent for McNemar. */
  ci95?: [number, number];
  /** Two-sided p-value (McNemar), absent for Newcombe. */
  pValue?: number;
  differ: boolean;
  /** Items (paired) or a's and b's sample sizes. */
  n: number | [number, number];
}

export function compareIndependent(a: Proportion, b: Proportion): Comparison {
  const [l1, u1] = wilsonInterval(a.successes, a.n);
  const [l2, u2] = wilsonInterval(b.successes, b.n);
  const d = a.value - b.value;
  const lower = d - Math.sqrt((a.value - l1) ** 2 + (u2 - b.value) ** 2);
  const upper = d + Math.sqrt((u1 - a.value) ** 2 + (b.value - l2) ** 2);
  return { method: 'newcombe-hybrid-score', difference: d, ci95: [lower, upper], differ: lower > 0 || upper < 0, n: [a.n, b.n] };
}

/** a[i] and b[i] say whether each model answered item i right. */
export function comparePaired(a: readonly boolean[], b: readonly boolean[]): Comparison {
  if (a.length !== b.length) throw new Error(`comparePaired: both results must cover the same items, got ${a.length} and ${b.length}`);
  let onlyA = 0;
  let onlyB = 0;
  let rightA = 0;
  let rightB = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i]) rightA++;
    if (b[i]) rightB++;
    if (a[i] && !b[i]) onlyA++;
    if (b[i] && !a[i]) onlyB++;
  }
  const pValue = signTestP(onlyA, onlyA + onlyB);
  const n = a.length;
  return { method: 'mcnemar-exact', difference: n === 0 ? 0 : (rightA - rightB) / n, pValue, differ: pValue < 0.05, n };
}

/** Two-sided exact binomial test of k successes in n trials against p = 1/2: min(1, 2 P(X <= min(k, n - k))). */
export function signTestP(k: number, n: number): number {
  if (n === 0) return 1;
  const m = Math.min(k, n - k);
  let logC = 0; // log C(n, 0)
  let tail = 0;
  for (let i = 0; i <= m; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logC - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}
