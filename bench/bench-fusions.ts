/**
 * `npm run bench:fusions`: each fusion of kernels-rs/src/fused.rs and of the autodiff against the unfused ops it
 * replaces, at bench-small's shapes (2,048 tokens, d 256, SwiGLU 688, vocab 8192), 1 and 2 threads, in one run:
 *
 *   out-projection + residual   matmul(h, Wo) then add(x, ·)            vs matmulAdd(h, Wo, x)
 *   down-projection + residual  matmul(hidden, W_down) then add          vs matmulAdd
 *   gate/up + SwiGLU            matmul(h, Wg), matmul(h, Wu), swiglu     vs swigluProjection(h, Wg, Wu)
 *   FFN dh                      dgate·Wgᵀ, dup·Wuᵀ, addInPlace           vs dgate·Wgᵀ, then matmulAdd(dup, Wu, ·)
 *   residual backward           the add op's two copies of dy (scale 1)  vs one copy (the other is handed on)
 *   dlogits                     scaleBy(dlogits, 1): a [2048, 8192] copy vs none (handed on)
 *
 * Every figure is the best of `--runs` (default 10) after 3 warm-up, the two variants of a row alternating run by run
 * so that load from other processes falls on both; the results are the same bits (libs/core/test/wasm-fused.test.ts).
 */
import { createWasmBackend, type Backend, type Tensor, type WasmBackend } from '@unilab/core';
import { benchEnvironment } from './reference-check.ts';

const argv = process.argv.slice(2);
const at = argv.indexOf('--runs');
const runs = at >= 0 ? Number(argv[at + 1]) : 10;
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${argv[at + 1]}`);

function rand(be: Backend, shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 32 - 0.5;
  }
  return be.fromArray(data, shape);
}

/** Best seconds of each variant over `runs` alternating calls after 3 warm-up calls of each. */
function race(be: Backend, variants: (() => Tensor[])[]): number[] {
  const best = variants.map(() => Infinity);
  for (let r = 0; r < 3 + runs; r++)
    variants.forEach((body, i) => {
      const t0 = performance.now();
      const out = body();
      const dt = (performance.now() - t0) / 1000;
      for (const o of out) be.dispose(o);
      if (r >= 3) best[i] = Math.min(best[i], dt);
    });
  return best;
}

type Row = { name: string; shape: string; unfused: (be: WasmBackend) => () => Tensor[]; fused: (be: WasmBackend) => () => Tensor[] };
const [N, D, F, V] = [2048, 256, 688, 8192];
const rows: Row[] = [
  {
    name: 'out-projection + residual add',
    shape: `${N}×${D}×${D}`,
    unfused: (be) => {
      const [h, w, x] = [rand(be, [N, D], 1), rand(be, [D, D], 2), rand(be, [N, D], 3)];
      return () => {
        const p = be.matmul(h, w);
        const y = be.add(x, p);
        return [p, y];
      };
    },
    fused: (be) => {
      const [h, w, x] = [rand(be, [N, D], 1), rand(be, [D, D], 2), rand(be, [N, D], 3)];
      return () => [be.matmulAdd(h, w, x)];
    },
  },
  {
    name: 'down-projection + residual add',
    shape: `${N}×${F}×${D}`,
    unfused: (be) => {
      const [h, w, x] = [rand(be, [N, F], 4), rand(be, [F, D], 5), rand(be, [N, D], 6)];
      return () => {
        const p = be.matmul(h, w);
        return [p, be.add(x, p)];
      };
    },
    fused: (be) => {
      const [h, w, x] = [rand(be, [N, F], 4), rand(be, [F, D], 5), rand(be, [N, D], 6)];
      return () => [be.matmulAdd(h, w, x)];
    },
  },
  {
    name: 'gate/up projections + SwiGLU',
    shape: `${N}×${D}×${F} (×2)`,
    unfused: (be) => {
      const [h, wg, wu] = [rand(be, [N, D], 7), rand(be, [D, F], 8), rand(be, [D, F], 9)];
      return () => {
        const [g, u] = [be.matmul(h, wg), be.matmul(h, wu)];
        return [g, u, be.swiglu(g, u)];
      };
    },
    fused: (be) => {
      const [h, wg, wu] = [rand(be, [N, D], 7), rand(be, [D, F], 8), rand(be, [D, F], 9)];
      return () => Object.values(be.swigluProjection(h, wg, wu));
    },
  },
  {
    name: 'FFN dh = dgate·Wgᵀ + dup·Wuᵀ',
    shape: `${N}×${F}×${D} (×2)`,
    unfused: (be) => {
      const [dg, du, wg, wu] = [rand(be, [N, F], 10), rand(be, [N, F], 11), rand(be, [D, F], 12), rand(be, [D, F], 13)];
      return () => {
        const [a, b] = [be.matmul(dg, wg, false, true), be.matmul(du, wu, false, true)];
        be.addInPlace(a, b);
        return [a, b];
      };
    },
    fused: (be) => {
      const [dg, du, wg, wu] = [rand(be, [N, F], 10), rand(be, [N, F], 11), rand(be, [D, F], 12), rand(be, [D, F], 13)];
      return () => {
        const a = be.matmul(dg, wg, false, true);
        return [a, be.matmulAdd(du, wu, a, false, true)];
      };
    },
  },
  {
    name: "residual add's backward (copies of dy)",
    shape: `${N}×${D}`,
    unfused: (be) => {
      const dy = rand(be, [N, D], 14);
      return () => [be.scale(dy, 1), be.scale(dy, 1)];
    },
    fused: (be) => {
      const dy = rand(be, [N, D], 14);
      return () => [be.scale(dy, 1)];
    },
  },
  {
    name: 'dlogits · dloss (the copy under seed 1)',
    shape: `${N}×${V}`,
    unfused: (be) => {
      const [g, one] = [rand(be, [N, V], 15), be.fromArray(new Float32Array([1]), [1])];
      return () => [be.scaleBy(g, one)];
    },
    fused: () => () => [],
  },
];

const machine = benchEnvironment({ threads: 2 });
console.log(`\nfusions, best of ${runs} alternating runs after 3 warm-up, ms (unfused → fused)`);
console.log('| fusion | shape | 1 thread: unfused | fused | saved | 2 threads: unfused | fused | saved |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
const backends = [await createWasmBackend(undefined, { threads: 1 }), await createWasmBackend(undefined, { threads: 2 })];
for (const row of rows) {
  const cells = backends.flatMap((be) => {
    const [u, f] = race(be, [row.unfused(be), row.fused(be)]);
    return [(u * 1000).toFixed(2), (f * 1000).toFixed(2), `${(((u - f) / u) * 100).toFixed(0)}%`];
  });
  console.log(`| ${row.name} | ${row.shape} | ${cells.join(' | ')} |`);
}
console.log(`(${backends[0].kernels.variant} build)`);
for (const be of backends) be.close();
machine.printLoadAfter();
