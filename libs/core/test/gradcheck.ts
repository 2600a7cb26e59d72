import type { Tensor } from '../src/backend/tensor.ts';
import { createReferenceBackend } from '../src/backends/reference/reference-backend.ts';
import { Rng } from '../src/rng.ts';

/** The float64 reference backend: finite differences are meaningful only in double precision. */
export const f64 = createReferenceBackend({ precision: 'f64' });

export function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

/** Read a tensor at full float64 precision. */
export function values(t: Tensor): Float64Array {
  return Float64Array.from(f64.readFloat(t));
}

/**
 * Central finite-difference check of a backward kernel. L(x) = Σ r · forward(x) for a random r; for each input that
 * has a gradient, compare backward(r) with (L(x + h e_i) - L(x - h e_i)) / 2h at every coordinate.
 * Returns the largest relative error max|a - n| / max(1, |n|) over all checked inputs.
 */
export function gradCheck(
  inputs: Tensor[],
  forward: (xs: Tensor[]) => Tensor,
  backward: (xs: Tensor[], dy: Tensor) => (Tensor | undefined)[],
  rng: Rng,
  h = 1e-6,
): number {
  const y0 = forward(inputs);
  const r = f64.fromArray(randomArray(rng, y0.size), y0.shape);
  const rv = values(r);
  const analytic = backward(inputs, r);
  const loss = (): number => {
    const y = forward(inputs);
    const yv = values(y);
    f64.dispose(y);
    let s = 0;
    for (let i = 0; i < yv.length; i++) s += yv[i] * rv[i];
    return s;
  };
  let worst = 0;
  inputs.forEach((x, idx) => {
    const g = analytic[idx];
    if (!g || x.dtype !== 'f32') return;
    const gv = values(g);
    const view = f64.floatView(x);
    for (let i = 0; i < x.size; i++) {
      const saved = view[i];
      view[i] = saved + h;
      const up = loss();
      view[i] = saved - h;
      const down = loss();
      view[i] = saved;
      const numeric = (up - down) / (2 * h);
      worst = Math.max(worst, Math.abs(gv[i] - numeric) / Math.max(1, Math.abs(numeric)));
    }
  });
  return worst;
}
