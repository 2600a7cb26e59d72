import type { FloatArray } from './types.ts';

/**
 * RMSNorm (Zhang & Sennrich 2019): y = x / rms(x) * w, rms(x) = sqrt(mean(x²) + eps).
 *   x, y: [N, D]; w: [D]; rstd: [N] = 1 / rms(x), saved for the backward.
 */
export function rmsnormForward(x: FloatArray, w: FloatArray, y: FloatArray, rstd: FloatArray, n: number, d: number, eps: number): void {
  for (let r = 0; r < n; r++) {
    const o = r * d;
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x[o + j] * x[o + j];
    const s = 1 / Math.sqrt(ss / d + eps);
    rstd[r] = s;
    for (let j = 0; j < d; j++) y[o + j] = x[o + j] * s * w[j];
  }
}

/**
 * With xhat = x * s: dx = s * (g - xhat * mean(g · xhat)), g = dy * w; dw = sum over rows of dy * xhat.
 *   dx: [N, D], dw: [D] (overwritten).
 */
export function rmsnormBackward(
  dy: FloatArray,
  x: FloatArray,
  w: FloatArray,
  rstd: FloatArray,
  dx: FloatArray,
  dw: FloatArray,
  n: number,
  d: number,
): void {
  dw.fill(0, 0, d);
  for (let r = 0; r < n; r++) {
    const o = r * d;
    const s = rstd[r];
    let dot = 0;
    for (let j = 0; j < d; j++) {
      const xhat = x[o + j] * s;
      dot += dy[o + j] * w[j] * xhat;
      dw[j] += dy[o + j] * xhat;
    }
    dot /= d;
    for (let j = 0; j < d; j++) dx[o + j] = s * (dy[o + j] * w[j] - x[o + j] * s * dot);
  }
}
