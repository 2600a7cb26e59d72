import type { FloatArray } from './types.ts';

/**
 * LayerNorm (Ba et al. 2016): y = (x - mean) * rstd * w + b, rstd = 1 / sqrt(var + eps).
 *   x, y: [N, D]; w, b: [D]; mean, rstd: [N] saved for the backward.
 */
export function layernormForward(
  x: FloatArray,
  w: FloatArray,
  b: FloatArray,
  y: FloatArray,
  mean: FloatArray,
  rstd: FloatArray,
  n: number,
  d: number,
  eps: number,
): void {
  for (let r = 0; r < n; r++) {
    const o = r * d;
    let mu = 0;
    for (let j = 0; j < d; j++) mu += x[o + j];
    mu /= d;
    let variance = 0;
    for (let j = 0; j < d; j++) variance += (x[o + j] - mu) * (x[o + j] - mu);
    const s = 1 / Math.sqrt(variance / d + eps);
    mean[r] = mu;
    rstd[r] = s;
    for (let j = 0; j < d; j++) y[o + j] = (x[o + j] - mu) * s * w[j] + b[j];
  }
}

/** dx = s * (g - mean(g) - xhat * mean(g · xhat)), g = dy * w; dw = Σ dy·xhat; db = Σ dy. */
export function layernormBackward(
  dy: FloatArray,
  x: FloatArray,
  w: FloatArray,
  mean: FloatArray,
  rstd: FloatArray,
  dx: FloatArray,
  dw: FloatArray,
  db: FloatArray,
  n: number,
  d: number,
): void {
  dw.fill(0, 0, d);
  db.fill(0, 0, d);
  for (let r = 0; r < n; r++) {
    const o = r * d;
    const mu = mean[r];
    const s = rstd[r];
    let gMean = 0;
    let gxMean = 0;
    for (let j = 0; j < d; j++) {
      const xhat = (x[o + j] - mu) * s;
      const g = dy[o + j] * w[j];
      gMean += g;
      gxMean += g * xhat;
      dw[j] += dy[o + j] * xhat;
      db[j] += dy[o + j];
    }
    gMean /= d;
    gxMean /= d;
    for (let j = 0; j < d; j++) {
      const xhat = (x[o + j] - mu) * s;
      dx[o + j] = s * (dy[o + j] * w[j] - gMean - xhat * gxMean);
    }
  }
}
