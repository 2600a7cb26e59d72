import type { FloatArray } from './types.ts';

/**
 * Rotary position embedding (Su et al. 2021), interleaved pairs as in the paper:
 *   x, y: [B, T, H, D], positions: [B, T]; pair (2i, 2i+1) of every head rotates by angle pos * base^(-2i / D).
 * With blockPositions [B, T] it is GLM-130B's 2D RoPE (Zeng et al. 2022): each head splits into two halves of D/2,
 * the first rotated by positions and the second by blockPositions, each half with its own D/2 frequencies
 * base^(-2i / (D/2)). D must then be a multiple of 4.
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
  blockPositions: Int32Array | null = null,
): void {
  // The rotated width and where each position dimension starts inside a head.
  const width = blockPositions ? d >> 1 : d;
  const half = width >> 1;
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = Math.pow(base, (-2 * i) / width);
  const sign = inverse ? -1 : 1;
  const rotate = (pos: number, offset: number, bt: number) => {
    for (let i = 0; i < half; i++) {
      const angle = pos * invFreq[i];
      const cos = Math.cos(angle);
      const sin = sign * Math.sin(angle);
      for (let hh = 0; hh < h; hh++) {
        const o = (bt * h + hh) * d + offset + 2 * i;
        const x0 = x[o];
        const x1 = x[o + 1];
        y[o] = x0 * cos - x1 * sin;
        y[o + 1] = x0 * sin + x1 * cos;
      }
    }
  };
  for (let bt = 0; bt < b * t; bt++) {
    rotate(positions[bt], 0, bt);
    if (blockPositions) rotate(blockPositions[bt], width, bt);
    if (d % 2 === 1) for (let hh = 0; hh < h; hh++) y[(bt * h + hh) * d + d - 1] = x[(bt * h + hh) * d + d - 1];
  }
}
