/**
 * Single-thread GFLOP/s of the wasm matmul kernel (kernels-rs, SIMD128).
 *
 *   npx tsx kernels-rs/bench/matmul-gflops.ts [sizes...]      (default: 256 512 1024)
 *
 * For each size s and each variant (NN, NT, TN) it runs C = op(A)·op(B) with
 * m = k = n = s, reports the best of several timed runs: 2·s³ / seconds.
 */
import { loadWasmKernels } from '../../libs/core/src/backends/wasm/kernels-loader.ts';

const sizes = process.argv.slice(2).map(Number).filter((v) => v > 0);
if (sizes.length === 0) sizes.push(256, 512, 1024);

const K = await loadWasmKernels();
const variants: Array<[string, boolean, boolean]> = [
  ['NN', false, false],
  ['NT', false, true],
  ['TN', true, false],
];

console.log('size  ' + variants.map(([v]) => v.padStart(8)).join('') + '   (GFLOP/s, best run)');
for (const s of sizes) {
  const len = s * s;
  const a = K.allocF32(len);
  const b = K.allocF32(len);
  const c = K.allocF32(len);
  const mem = () => new Float32Array(K.memory.buffer);
  const fillRand = (ptr: number) => {
    const v = mem().subarray(ptr / 4, ptr / 4 + len);
    for (let i = 0; i < len; i++) v[i] = Math.random() * 2 - 1;
  };
  fillRand(a);
  fillRand(b);
  const flops = 2 * s * s * s;
  const row: string[] = [];
  for (const [, ta, tb] of variants) {
    K.matmul(a, b, c, s, s, s, ta, tb, false); // warm-up (tier-up, caches)
    // Enough repetitions for ~0.3 s per measurement, 5 measurements.
    const t0 = performance.now();
    K.matmul(a, b, c, s, s, s, ta, tb, false);
    const once = Math.max(performance.now() - t0, 0.01);
    const reps = Math.max(1, Math.round(300 / once));
    let best = Infinity;
    for (let trial = 0; trial < 5; trial++) {
      const t = performance.now();
      for (let r = 0; r < reps; r++) K.matmul(a, b, c, s, s, s, ta, tb, false);
      best = Math.min(best, (performance.now() - t) / reps);
    }
    row.push(((flops / (best / 1000)) / 1e9).toFixed(1).padStart(8));
  }
  console.log(String(s).padEnd(6) + row.join(''));
  K.freeF32(a, len);
  K.freeF32(b, len);
  K.freeF32(c, len);
}
