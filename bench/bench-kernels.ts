/**
 * bench-kernels (../../shared/BENCH.md): GFLOP/s of the WASM kernels, 1 and 2 threads.
 *   tsx --conditions=development bench/bench-kernels.ts [--json] [--only SUBSTRING,...] [--runs N]
 * Each figure is the best of several timed runs after warm-up (best, not median: on a shared machine the best
 * run is the one least disturbed by other processes). Prints a Markdown table (or JSON lines with --json).
 */
import { createWasmBackend, type Backend, type Tensor } from '@unilab/core';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
// --only attention,rmsnorm: just the kernels whose name contains one of these; --runs N: best of N (default 8).
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : undefined;
const timedRuns = argv.includes('--runs') ? Number(argv[argv.indexOf('--runs') + 1]) : 8;
if (!Number.isInteger(timedRuns) || timedRuns < 1) throw new Error(`--runs must be a positive integer, got ${argv[argv.indexOf('--runs') + 1]}`);

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

/** Best seconds of `runs` calls after `warm` calls; `body` returns tensors to dispose. */
function best(be: Backend, body: () => Tensor[], warm = 3, runs = timedRuns): number {
  let t = Infinity;
  for (let r = 0; r < warm + runs; r++) {
    const t0 = performance.now();
    const out = body();
    const dt = (performance.now() - t0) / 1000;
    for (const o of out) be.dispose(o);
    if (r >= warm) t = Math.min(t, dt);
  }
  return t;
}

interface Row {
  kernel: string;
  shape: string;
  flops: number;
  seconds: Record<number, number>;
}

const rows: Row[] = [];
const threadCounts = [1, 2];
const backends = new Map<number, Awaited<ReturnType<typeof createWasmBackend>>>();
for (const t of threadCounts) backends.set(t, await createWasmBackend(undefined, { threads: t }));

function measure(kernel: string, shape: string, flops: number, setup: (be: Backend) => () => Tensor[]): void {
  if (only && !only.some((o) => kernel.includes(o))) return;
  const seconds: Record<number, number> = {};
  for (const [t, be] of backends) seconds[t] = best(be, setup(be));
  rows.push({ kernel, shape, flops, seconds });
}

for (const s of [256, 512, 1024])
  measure('matmul NN', `${s}³`, 2 * s ** 3, (be) => {
    const [a, b] = [rand(be, [s, s], 1), rand(be, [s, s], 2)];
    return () => [be.matmul(a, b)];
  });

// The bench-small products: the output head and the FFN, forward and both backward products.
for (const [m, k, n, label] of [
  [2048, 256, 8192, 'head'],
  [2048, 256, 688, 'ffn up'],
] as const) {
  measure(`matmul NN (${label} fwd)`, `${m}×${k}×${n}`, 2 * m * k * n, (be) => {
    const [x, w] = [rand(be, [m, k], 3), rand(be, [k, n], 4)];
    return () => [be.matmul(x, w)];
  });
  measure(`matmul NT (${label} dX)`, `${m}×${n}×${k}`, 2 * m * k * n, (be) => {
    const [dy, w] = [rand(be, [m, n], 5), rand(be, [k, n], 6)];
    return () => [be.matmul(dy, w, false, true)];
  });
  measure(`matmul TN (${label} dW)`, `${k}×${m}×${n}`, 2 * m * k * n, (be) => {
    const [x, dy] = [rand(be, [m, k], 7), rand(be, [m, n], 8)];
    return () => [be.matmul(x, dy, true, false)];
  });
}

// Attention at bench-small's B=8, H=4, T=256, D=64, and at bench-scale's longest point (the 5M decoder at T=2048:
// B=1, H=3, D=64). Flops count visible (query, key) pairs only; forward 4·D per pair (QKᵀ, PV), backward 10·D
// (S again, dP, dV, dK, dQ).
for (const [B, H, T, D, label, prefix] of [
  [8, 4, 256, 64, 'causal', 0],
  [8, 4, 256, 64, 'prefix 128', 128],
  [1, 3, 2048, 64, 'causal', 0],
] as const) {
  let pairs = 0;
  for (let i = 0; i < T; i++) pairs += Math.min(T, Math.max(i + 1, prefix));
  pairs *= B * H;
  const setup = (be: Backend) => {
    const [q, k, v, dout] = [rand(be, [B, T, H, D], 9), rand(be, [B, T, H, D], 10), rand(be, [B, T, H, D], 11), rand(be, [B, T, H, D], 12)];
    const zeros = be.zeros([B, T], 'i32');
    const mask = { querySegments: zeros, keySegments: zeros, prefixEnd: be.fromArray(new Int32Array(B * T).fill(prefix), [B, T]) };
    const options = { scale: 1 / Math.sqrt(D) };
    return { q, k, v, dout, mask, options };
  };
  measure(`attention fwd (${label})`, `${B}×${H}×${T}×${D}`, pairs * 4 * D, (be) => {
    const { q, k, v, mask, options } = setup(be);
    return () => Object.values(be.attention(q, k, v, mask, options));
  });
  measure(`attention bwd (${label})`, `${B}×${H}×${T}×${D}`, pairs * 10 * D, (be) => {
    const { q, k, v, dout, mask, options } = setup(be);
    const { out, lse } = be.attention(q, k, v, mask, options);
    return () => Object.values(be.attentionBackward(dout, q, k, v, out, lse, mask, options)).filter((t): t is Tensor => t !== undefined);
  });
}

// Memory-bound ops at bench-small shapes: flops is a nominal count (elements × ops per element).
measure('rmsnorm fwd+bwd', '2048×256', 2048 * 256 * 10, (be) => {
  const [x, w, dy] = [rand(be, [2048, 256], 13), rand(be, [256], 14), rand(be, [2048, 256], 15)];
  return () => {
    const { y, rstd } = be.rmsnorm(x, w, 1e-5);
    const { dx, dweight } = be.rmsnormBackward(dy, x, w, rstd);
    return [y, rstd, dx, dweight];
  };
});
measure('swiglu fwd+bwd', '2048×688', 2048 * 688 * 20, (be) => {
  const [g, u, dy] = [rand(be, [2048, 688], 16), rand(be, [2048, 688], 17), rand(be, [2048, 688], 18)];
  return () => {
    const y = be.swiglu(g, u);
    const { dgate, dup } = be.swigluBackward(dy, g, u);
    return [y, dgate, dup];
  };
});
measure('cross-entropy fwd+bwd', '2048×8192', 2048 * 8192 * 10, (be) => {
  const logits = rand(be, [2048, 8192], 19);
  const targets = be.fromArray(Int32Array.from({ length: 2048 }, (_, i) => (i * 37) % 8192), [2048]);
  const mask = be.fromArray(new Float32Array(2048).fill(1), [2048]);
  return () => Object.values(be.crossEntropy(logits, targets, mask));
});

const variant = backends.get(1)!.kernels.variant;
for (const be of backends.values()) be.close();
if (json) {
  for (const r of rows) console.log(JSON.stringify(r));
} else {
  console.log(`WASM kernels (${variant} build), GFLOP/s, best of ${timedRuns} runs; in parentheses: ms`);
  console.log(`| kernel | shape | ${threadCounts.map((t) => `${t} thread${t > 1 ? 's' : ''}`).join(' | ')} |`);
  console.log(`|---|---|${threadCounts.map(() => '---:').join('|')}|`);
  for (const r of rows)
    console.log(`| ${r.kernel} | ${r.shape} | ${threadCounts.map((t) => `${(r.flops / r.seconds[t] / 1e9).toFixed(1)} (${(r.seconds[t] * 1000).toFixed(2)})`).join(' | ')} |`);
}
