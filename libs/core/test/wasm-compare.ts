import { expect } from 'vitest';
import { createReferenceBackend, type Backend, type Tensor } from '../src/index.ts';

/** Deterministic values in [lo, hi) (xorshift32). */
export function values(len: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(len);
  let s = (seed * 2654435761 + 1) >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = lo + (s / 2 ** 32) * (hi - lo);
  }
  return out;
}

/** Deterministic integers in [lo, hi). */
export function ints(len: number, seed: number, lo: number, hi: number): Int32Array {
  return Int32Array.from(values(len, seed, 0, 1), (v) => lo + Math.floor(v * (hi - lo)));
}

type Outputs = Tensor | readonly Tensor[] | Record<string, Tensor | undefined>;

function list(o: Outputs): Array<[string, Tensor]> {
  if (Array.isArray(o)) return o.map((t, i) => [String(i), t]);
  if ('shape' in (o as Tensor)) return [['out', o as Tensor]];
  return Object.entries(o as Record<string, Tensor | undefined>).filter((e): e is [string, Tensor] => e[1] !== undefined);
}

/**
 * max |got - want| / max |want| over finite values; infinities must sit at the same places with the same sign.
 * (Relative to the output's scale: an elementwise relative error would be meaningless where values cancel to ~0.)
 */
export function relativeError(got: Float32Array | Int32Array, want: Float32Array | Int32Array): number {
  expect(got.length).toBe(want.length);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i], want[i]];
    if (!Number.isFinite(w) || !Number.isFinite(g)) {
      if (g !== w) return Infinity;
      continue;
    }
    scale = Math.max(scale, Math.abs(w));
    diff = Math.max(diff, Math.abs(g - w));
  }
  return scale === 0 ? diff : diff / scale;
}

/**
 * Run `op` on the reference backend and on `wasm` with the same inputs (built inside `op` from fixed seeds) and
 * require every output to agree within `tolerance` relative to its scale.
 */
export async function agrees(label: string, wasm: Backend, op: (be: Backend) => Outputs, tolerance = 1e-4): Promise<void> {
  const reference = createReferenceBackend();
  const want = list(op(reference));
  const got = list(op(wasm));
  expect(got.map(([k]) => k), label).toEqual(want.map(([k]) => k));
  for (let i = 0; i < want.length; i++) {
    const [key, w] = want[i];
    const g = got[i][1];
    expect(g.shape, `${label}: ${key} shape`).toEqual(w.shape);
    const err = relativeError(await wasm.read(g), await reference.read(w));
    expect(err, `${label}: ${key}`).toBeLessThanOrEqual(tolerance);
  }
}
