import type { FloatArray } from './types.ts';

/**
 * AdamW (Loshchilov & Hutter 2019): decoupled weight decay, then Adam with bias correction.
 *   p -= lr * wd * p;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g²;  p -= lr * m̂ / (sqrt(v̂) + eps)
 */
export function adamwUpdate(
  p: FloatArray,
  g: FloatArray,
  m: FloatArray,
  v: FloatArray,
  size: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  step: number,
): void {
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2 = 1 - Math.pow(beta2, step);
  const decay = 1 - lr * weightDecay;
  for (let i = 0; i < size; i++) {
    const gi = g[i];
    const mi = beta1 * m[i] + (1 - beta1) * gi;
    const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
  }
}

/** Σ x² of one tensor (accumulated in float64 for a stable global norm). */
export function sumOfSquares(x: FloatArray, size: number): number {
  let s = 0;
  for (let i = 0; i < size; i++) s += x[i] * x[i];
  return s;
}

/** Global-norm clipping factor (Pascanu et al. 2013): scale = min(1, maxNorm / (norm + 1e-6)). */
export function clipScale(sumSquares: number, maxNorm: number): number {
  const norm = Math.sqrt(sumSquares);
  return norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
}
