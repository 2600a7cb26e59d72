import type { FloatArray } from './types.ts';

/**
 * Rotary position embedding (Su et al. 2021), interleaved pairs as in the paper:
 *   x, y: [B, T, H, D], positions: [B, T]; pair (2i, 2i+1) of every head rotates by angle pos * base^(-2i / D).
 * The rotation is orthogonal, so the backward is the same kernel rotating by the negative angle (`inverse`).
 */
export function ropeForward(
  x: FloatArray,
  positions: Int32Array,
  y: FloatArray,
  b: number,
  t: number,
  h: number,
  d: number,
  base: number,
  inverse: boolean,
): void {
  const half = d >> 1;
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = Math.pow(base, (-2 * i) / d);
  const sign = inverse ? -1 : 1;
  for (let bt = 0; bt < b * t; bt++) {
    const pos = positions[bt];
    for (let i = 0; i < half; i++) {
      const angle = pos * invFreq[i];
      const cos = Math.cos(angle);
      const sin = sign * Math.sin(angle);
      for (let hh = 0; hh < h; hh++) {
        const o = (bt * h + hh) * d + 2 * i;
        const x0 = x[o];
        const x1 = x[o + 1];
        y[o] = x0 * cos - x1 * sin;
        y[o + 1] = x0 * sin + x1 * cos;
      }
    }
    if (d % 2 === 1) for (let hh = 0; hh < h; hh++) y[(bt * h + hh) * d + d - 1] = x[(bt * h + hh) * d + d - 1];
  }
}
