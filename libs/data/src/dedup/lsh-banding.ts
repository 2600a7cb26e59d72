import { candidateProbability } from './minhash.ts';

/**
 * The bands x rows of a MinHash LSH index chosen for a Jaccard threshold t with at most `hashes` hash functions
 * (Leskovec, Rajaraman & Ullman, Mining of Massive Datasets §3.4.3; the same criterion as datasketch's MinHashLSH):
 * a pair at similarity s becomes a candidate with probability P(s) = 1 - (1 - s^r)^b, and the choice minimises the
 * false-positive area ∫₀ᵗ P(s) ds plus the false-negative area ∫ₜ¹ (1 - P(s)) ds, weighted equally. Its S-curve
 * then rises through about t: pairs well above the threshold are caught, pairs well below it are not.
 */
export interface LshBanding {
  bands: number;
  rows: number;
  falsePositiveArea: number;
  falseNegativeArea: number;
}

export function bandingForThreshold(threshold: number, hashes: number): LshBanding {
  if (!(threshold > 0 && threshold < 1)) throw new Error(`LSH threshold must lie in (0, 1), got ${threshold}`);
  if (!Number.isInteger(hashes) || hashes < 1) throw new Error(`LSH needs at least one hash function, got ${hashes}`);
  let best: LshBanding | null = null;
  for (let bands = 1; bands <= hashes; bands++)
    for (let rows = 1; bands * rows <= hashes; rows++) {
      const falsePositiveArea = integrate((s) => candidateProbability(s, bands, rows), 0, threshold);
      const falseNegativeArea = integrate((s) => 1 - candidateProbability(s, bands, rows), threshold, 1);
      if (!best || falsePositiveArea + falseNegativeArea < best.falsePositiveArea + best.falseNegativeArea)
        best = { bands, rows, falsePositiveArea, falseNegativeArea };
    }
  return best!;
}

/** Simpson's rule on 64 intervals: the integrands are smooth polynomials in s, so this is exact to ~1e-7. */
function integrate(f: (s: number) => number, from: number, to: number): number {
  const n = 64;
  const h = (to - from) / n;
  let sum = f(from) + f(to);
  for (let i = 1; i < n; i++) sum += (i % 2 === 1 ? 4 : 2) * f(from + i * h);
  return (sum * h) / 3;
}
