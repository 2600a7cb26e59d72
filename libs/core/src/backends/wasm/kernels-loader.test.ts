import { describe, expect, it } from 'vitest';
import { loadWasmKernels, type WasmKernels } from './kernels-loader.ts';
import { alloc_f32 } from './pkg/unilab_kernels.js';

/** Deterministic values in [-1, 1). */
function fill(len: number, seed: number): Float32Array {
  const out = new Float32Array(len);
  let s = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < len; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Reference: C = op(A)·op(B) (+ C), in float64. */
function naive(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = accumulate ? c[i * n + j] : 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * m + i] : a[i * k + p];
        const bv = transB ? b[j * k + p] : b[p * n + j];
        s += av * bv;
      }
      out[i * n + j] = s;
    }
  }
  return out;
}

/** Copy `data` into a fresh wasm block; returns its pointer. */
function upload(K: WasmKernels, data: Float32Array): number {
  const ptr = K.allocF32(data.length);
  new Float32Array(K.memory.buffer, ptr, data.length).set(data); // view after alloc (growth)
  return ptr;
}

function runMatmul(
  K: WasmKernels,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
  seed: number,
) {
  const a = fill(m * k, seed);
  const b = fill(k * n, seed + 1);
  const c0 = fill(m * n, seed + 2);
  const pa = upload(K, a);
  const pb = upload(K, b);
  const pc = upload(K, c0);
  K.matmul(pa, pb, pc, m, k, n, transA, transB, accumulate);
  const got = new Float32Array(K.memory.buffer, pc, m * n).slice();
  K.freeF32(pa, a.length);
  K.freeF32(pb, b.length);
  K.freeF32(pc, c0.length);
  return { got, want: naive(a, b, c0, m, k, n, transA, transB, accumulate) };
}

/** max |got - want| / max(1, |want|_max): relative to the output's scale. */
function relError(got: Float32Array, want: Float64Array): number {
  let scale = 1;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    if (!Number.isFinite(g)) return Infinity;
    err = Math.max(err, Math.abs(g - want[i]));
  }
  return err / scale;
}

const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [1, 7, 3],
  [3, 1, 7],
  [7, 17, 3],
  [17, 33, 65],
  [33, 65, 17],
  [65, 3, 33],
  [5, 300, 9], // k spans two KC slices
  [130, 19, 1030], // m spans two MC blocks, n two NC blocks
];

describe('wasm kernels (kernels-rs, wasm-bindgen)', () => {
  it('loads once and exposes memory', async () => {
    const K = await loadWasmKernels();
    expect(K.memory).toBeInstanceOf(WebAssembly.Memory);
    expect(await loadWasmKernels()).toBe(K);
  });

  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const accumulate of [false, true]) {
        const name = `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}${accumulate ? ' +C' : ''}`;
        it(`matmul ${name} on odd shapes matches a naive loop`, async () => {
          const K = await loadWasmKernels();
          let seed = 1;
          for (const [m, k, n] of SHAPES) {
            const { got, want } = runMatmul(K, m, k, n, transA, transB, accumulate, seed++);
            const err = relError(got, want);
            expect(err, `${name} m=${m} k=${k} n=${n}`).toBeLessThanOrEqual(1e-5);
          }
        });
      }
    }
  }

  it('matmul is deterministic and handles k = 0', async () => {
    const K = await loadWasmKernels();
    const r1 = runMatmul(K, 33, 257, 65, false, true, false, 9).got;
    const r2 = runMatmul(K, 33, 257, 65, false, true, false, 9).got;
    expect(r2).toEqual(r1);

    const pc = upload(K, new Float32Array([5, 5, 5, 5, 5, 5]));
    K.matmul(0, 0, pc, 2, 0, 3, false, false, true);
    expect(Array.from(new Float32Array(K.memory.buffer, pc, 6))).toEqual([5, 5, 5, 5, 5, 5]);
    K.matmul(0, 0, pc, 2, 0, 3, false, false, false);
    expect(Array.from(new Float32Array(K.memory.buffer, pc, 6))).toEqual([0, 0, 0, 0, 0, 0]);
    K.freeF32(pc, 6);
  });

  it('allocations are aligned, reused after free, and survive memory growth', async () => {
    const K = await loadWasmKernels();
    const p1 = K.allocF32(3);
    const p2 = K.allocI32(5);
    expect(p1 % 16).toBe(0);
    expect(p2 % 16).toBe(0);
    expect(p1).not.toBe(p2);
    K.freeF32(p1, 3);
    expect(K.allocF32(3)).toBe(p1); // freed block is reused
    K.freeF32(p1, 3);
    K.freeI32(p2, 5);

    // Force growth: 64 MiB, written through a view created after the allocation.
    const before = K.memory.buffer.byteLength;
    const len = 16 * 1024 * 1024;
    const big = K.allocF32(len);
    expect(K.memory.buffer.byteLength).toBeGreaterThan(before);
    const view = new Float32Array(K.memory.buffer, big, len);
    view[0] = 1;
    view[len - 1] = 2;
    expect(view[len - 1]).toBe(2);
    K.freeF32(big, len);
  });

  it('out of memory: raw export returns 0, loader throws naming the byte size', async () => {
    const K = await loadWasmKernels();
    // 2^32 - 16 bytes cannot fit above the static data: the allocator returns null.
    expect(alloc_f32(2 ** 30 - 4)).toBe(0);
    expect(() => K.allocF32(2 ** 30 - 4)).toThrow(/4294967280 bytes/);
    // Past the 4 GiB address space: rejected before the call (no silent wrap-around).
    expect(() => K.allocF32(2 ** 32 + 8)).toThrow(/17179869216 bytes/);
    expect(() => K.allocI32(2 ** 30)).toThrow(/4294967296 bytes/);
    expect(() => K.allocF32(-1)).toThrow(RangeError);
    // Still usable afterwards.
    const p = K.allocF32(4);
    expect(p).toBeGreaterThan(0);
    K.freeF32(p, 4);
  });
});
