import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/index.ts';
import { createWasmBackend, loadWasmKernels, type WasmBackend } from '../src/backends/wasm/wasm-backend.ts';
import { agrees, ints, values } from './wasm-compare.ts';

// Every kernel of kernels-rs against the reference backend (the TypeScript oracle), on odd shapes, in both builds
// (SIMD128 and relaxed-SIMD FMA), single- and multi-threaded. Attention has its own file (wasm-attention.test.ts).

const backends: WasmBackend[] = [];
afterAll(() => backends.forEach((b) => b.close()));

async function backend(variant: 'simd128' | 'relaxed', threads: number): Promise<WasmBackend> {
  const be = await createWasmBackend(await loadWasmKernels(variant), { threads });
  backends.push(be);
  return be;
}

const f = (be: Backend, shape: number[], seed: number, lo = -1, hi = 1) => be.fromArray(values(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape);

describe.each([
  ['simd128', 1],
  ['relaxed', 1],
  ['relaxed', 2],
] as const)('wasm kernels (%s build, %i thread(s)) equal the reference within 1e-4', (variant, threads) => {
  it('matmul: all four transpositions on odd shapes, across the KC, MC and NC block edges', async () => {
    const be = await backend(variant, threads);
    const shapes: Array<[number, number, number]> = [
      [1, 1, 1],
      [1, 7, 3],
      [3, 1, 7],
      [7, 17, 3],
      [17, 33, 65],
      [65, 3, 33],
      [5, 300, 9],
      [130, 19, 1030],
      [67, 257, 131],
    ];
    let seed = 1;
    for (const [m, k, n] of shapes)
      for (const transA of [false, true])
        for (const transB of [false, true]) {
          const s = seed++;
          await agrees(`matmul ${m}x${k}x${n} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`, be, (r) =>
            r.matmul(f(r, transA ? [k, m] : [m, k], s), f(r, transB ? [n, k] : [k, n], s + 100), transA, transB),
          );
        }
    // Leading dimensions of a are kept: [2, 3, 5] · [5, 7] -> [2, 3, 7].
    await agrees('matmul batched', be, (r) => r.matmul(f(r, [2, 3, 5], 3), f(r, [5, 7], 4)));
    // An empty inner dimension gives zeros (the reference cannot view a [2, 0] operand).
    expect(await be.read(be.matmul(be.zeros([2, 0]), be.zeros([0, 3])))).toEqual(new Float32Array(6));
  });

  it('bias add and its gradient (sum over rows)', async () => {
    const be = await backend(variant, threads);
    await agrees('addBias', be, (r) => r.addBias(f(r, [13, 7], 1), f(r, [7], 2)));
    await agrees('sumRows', be, (r) => r.sumRows(f(r, [3, 13, 7], 3)));
  });

  it('residual add, multiply, accumulate, scale, scaleBy, fillZero', async () => {
    const be = await backend(variant, threads);
    await agrees('add', be, (r) => r.add(f(r, [3, 37], 1), f(r, [3, 37], 2)));
    await agrees('mul', be, (r) => r.mul(f(r, [3, 37], 1), f(r, [3, 37], 2)));
    // Past MAP_BLOCK elements the product is cut into blocks for the pool; an odd tail crosses the last lane group.
    await agrees('mul (blocks)', be, (r) => r.mul(f(r, [3, 65537], 3), f(r, [3, 65537], 4)));
    await agrees('addInPlace', be, (r) => {
      const dst = f(r, [101], 3);
      r.addInPlace(dst, f(r, [101], 4));
      return dst;
    });
    await agrees('scale', be, (r) => r.scale(f(r, [5, 19], 5), -2.5));
    await agrees('scaleBy', be, (r) => r.scaleBy(f(r, [5, 19], 6), r.fromArray([0.125], [1])));
    await agrees('fillZero', be, (r) => {
      const t = f(r, [33], 7);
      r.fillZero(t);
      return t;
    });
  });

  it('copyInto: a tensor written into another at an offset (f32 and i32)', async () => {
    const be = await backend(variant, threads);
    await agrees('copyInto', be, (r) => {
      const dst = f(r, [4, 7], 8);
      r.copyInto(dst, f(r, [2, 7], 9), 7);
      return dst;
    });
    const into = be.zeros([5], 'i32');
    be.copyInto(into, be.fromArray(new Int32Array([-3, 4]), [2]), 3);
    expect(Array.from(await be.read(into))).toEqual([0, 0, 0, -3, 4]);
  });

  it('embedding gather and scatter-add with repeated ids', async () => {
    const be = await backend(variant, threads);
    const ids = ints(29, 1, 0, 11);
    ids[3] = ids[7] = ids[20] = 5;
    await agrees('embedding', be, (r) => r.embedding(r.fromArray(ids, [29]), f(r, [11, 13], 2)));
    await agrees('embeddingBackward', be, (r) => r.embeddingBackward(r.fromArray(ids, [29]), f(r, [29, 13], 3), 11));
  });

  it('rmsnorm and layernorm, forward and backward', async () => {
    const be = await backend(variant, threads);
    for (const d of [1, 6, 37, 256]) {
      await agrees(`rmsnorm d=${d}`, be, (r) => r.rmsnorm(f(r, [3, 5, d], d), f(r, [d], d + 1, 0.5, 1.5), 1e-5));
      await agrees(`rmsnormBackward d=${d}`, be, (r) => {
        const x = f(r, [15, d], d + 2);
        const w = f(r, [d], d + 3, 0.5, 1.5);
        return r.rmsnormBackward(f(r, [15, d], d + 4), x, w, r.rmsnorm(x, w, 1e-5).rstd);
      });
      await agrees(`layernorm d=${d}`, be, (r) => r.layernorm(f(r, [15, d], d + 5), f(r, [d], d + 6), f(r, [d], d + 7), 1e-5));
      await agrees(`layernormBackward d=${d}`, be, (r) => {
        const x = f(r, [15, d], d + 8, -3, 5);
        const w = f(r, [d], d + 9);
        const { mean, rstd } = r.layernorm(x, w, f(r, [d], d + 10), 1e-5);
        return r.layernormBackward(f(r, [15, d], d + 11), x, w, mean, rstd);
      });
    }
  });

  it('swiglu, gelu and relu, forward and backward, including large and tiny inputs', async () => {
    const be = await backend(variant, threads);
    for (const [lo, hi] of [
      [-1, 1],
      [-30, 30],
      [-1e-3, 1e-3],
    ]) {
      const x = (r: Backend, seed: number) => f(r, [7, 43], seed, lo, hi);
      await agrees(`swiglu [${lo}, ${hi})`, be, (r) => r.swiglu(x(r, 1), f(r, [7, 43], 2)));
      await agrees(`swigluBackward [${lo}, ${hi})`, be, (r) => r.swigluBackward(f(r, [7, 43], 3), x(r, 4), f(r, [7, 43], 5)));
      await agrees(`gelu [${lo}, ${hi})`, be, (r) => r.gelu(x(r, 6)));
      await agrees(`geluBackward [${lo}, ${hi})`, be, (r) => r.geluBackward(f(r, [7, 43], 7), x(r, 8)));
      await agrees(`relu [${lo}, ${hi})`, be, (r) => r.relu(x(r, 9)));
      await agrees(`reluBackward [${lo}, ${hi})`, be, (r) => r.reluBackward(f(r, [7, 43], 10), x(r, 11)));
    }
  });

  it('dropout draws the reference backend\'s mask bit for bit', async () => {
    const be = await backend(variant, threads);
    for (const rate of [0, 0.1, 0.5, 0.9]) {
      await agrees(`dropout ${rate}`, be, (r) => r.dropout(f(r, [9, 31], 1), rate, r.fromArray(ints(17, 2, 0, 258), [17]), 12345), 1e-6);
    }
  });

  it('rope 1D (odd and even head sizes, positions past the table and negative) and 2D, forward and inverse', async () => {
    const be = await backend(variant, threads);
    for (const d of [2, 6, 7, 8, 64]) {
      const positions = ints(2 * 9, d, -3, 40);
      for (const inverse of [false, true])
        await agrees(`rope d=${d}${inverse ? ' inverse' : ''}`, be, (r) =>
          r.rope(f(r, [2, 9, 3, d], d), r.fromArray(positions, [2, 9]), 10000, inverse),
        );
    }
    for (const d of [4, 12, 64]) {
      const [positions, blocks] = [ints(2 * 9, d, 0, 9), ints(2 * 9, d + 1, 0, 5)];
      for (const inverse of [false, true])
        await agrees(`rope 2D d=${d}${inverse ? ' inverse' : ''}`, be, (r) =>
          r.rope(f(r, [2, 9, 3, d], d), r.fromArray(positions, [2, 9]), 500, inverse, r.fromArray(blocks, [2, 9])),
        );
    }
  });

  it('fused cross-entropy with a loss mask (weights, masked rows, every row masked)', async () => {
    const be = await backend(variant, threads);
    for (const [n, v] of [
      [1, 1],
      [7, 5],
      [37, 258],
      [300, 1031],
    ]) {
      const mask = values(n, n, 0, 1).map((x) => (x < 0.3 ? 0 : x < 0.6 ? 1 : 0.5));
      await agrees(`crossEntropy ${n}x${v}`, be, (r) => r.crossEntropy(f(r, [n, v], v, -8, 8), r.fromArray(ints(n, v, 0, v), [n]), r.fromArray(mask, [n])));
    }
    await agrees('crossEntropy all masked', be, (r) => r.crossEntropy(f(r, [4, 9], 1), r.fromArray(ints(4, 2, 0, 9), [4]), r.zeros([4])));
  });

  it('sum of squares, global-norm clipping and AdamW over several steps', async () => {
    const be = await backend(variant, threads);
    await agrees('sumOfSquares', be, (r) => r.sumOfSquares([f(r, [13, 7], 1), f(r, [3], 2), f(r, [1001], 3)]));
    for (const maxNorm of [0.5, 1000]) {
      await agrees(`clipByGlobalNorm ${maxNorm}`, be, (r) => {
        const ts = [f(r, [13, 7], 4), f(r, [1001], 5)];
        r.clipByGlobalNorm(ts, r.sumOfSquares(ts), maxNorm);
        return ts;
      });
    }
    await agrees('adamw', be, (r) => {
      const [p, m, v] = [f(r, [37, 3], 6), r.zeros([37, 3]), r.zeros([37, 3])];
      for (let step = 1; step <= 3; step++)
        r.adamw(p, f(r, [37, 3], 6 + step), m, v, { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step });
      return { p, m, v };
    });
  });
});

describe('wasm kernels report bad input', () => {
  it('shape mismatches name the op and the shapes', async () => {
    const be = await backend('simd128', 1);
    expect(() => be.matmul(be.zeros([2, 3]), be.zeros([4, 5]))).toThrow(/matmul: inner dimensions differ: a \[2, 3\] · b \[4, 5\]/);
    expect(() => be.add(be.zeros([2, 3]), be.zeros([3, 3]))).toThrow(/add: shapes \[2, 3\] and \[3, 3\] differ/);
    expect(() => be.mul(be.zeros([2, 3]), be.zeros([3, 3]))).toThrow(/mul: shapes \[2, 3\] and \[3, 3\] differ/);
    expect(() => be.rmsnorm(be.zeros([2, 3]), be.zeros([4]), 1e-5)).toThrow(/rmsnorm: last dimension of x \[2, 3\] must be 4/);
    expect(() => be.rope(be.zeros([2, 3, 4]), be.zeros([2, 3], 'i32'), 1e4)).toThrow(/rope: x must be \[B, T, H, D\]/);
    expect(() => be.matmul(be.zeros([2], 'i32'), be.zeros([2, 2]))).toThrow(/matmul: a must be a float tensor/);
    expect(() => be.crossEntropy(be.zeros([3, 4]), be.zeros([2], 'i32'), be.zeros([3]))).toThrow(/crossEntropy: logits \[3, 4\] need 3 targets/);
  });

  it('copyInto refuses a copy that does not fit or changes dtype', async () => {
    const be = await backend('simd128', 1);
    expect(() => be.copyInto(be.zeros([5]), be.zeros([2]), 4)).toThrow('copyInto: 2 values at offset 4 do not fit a tensor of 5 [5]');
    expect(() => be.copyInto(be.zeros([5]), be.zeros([2], 'i32'), 0)).toThrow('copyInto: cannot copy i32 values into an f32 tensor');
  });

  it('token ids and targets outside the vocabulary are refused, and nothing leaks', async () => {
    const be = await backend('simd128', 1);
    const before = be.memoryStats().liveTensors;
    const ids = be.fromArray(new Int32Array([1, 9]), [2]);
    const table = be.zeros([4, 3]);
    expect(() => be.embedding(ids, table)).toThrow(/embedding: token id 9 at position 1 is outside the vocabulary \[0, 4\)/);
    const targets = be.fromArray(new Int32Array([0, -1]), [2]);
    expect(() => be.crossEntropy(be.zeros([2, 4]), targets, be.fromArray([1, 1], [2]))).toThrow(/cross-entropy: target -1 at row 1 is outside \[0, 4\)/);
    expect(be.memoryStats().liveTensors).toBe(before + 5); // ids, table, targets and the two inputs made inline
  });

  it('the debug mode names the op and the input that holds a non-finite value', async () => {
    const be = await createWasmBackend(await loadWasmKernels('simd128'), { threads: 1, checkFinite: true });
    backends.push(be);
    const x = be.fromArray([1, 2, NaN, 4], [2, 2]);
    expect(() => be.matmul(be.zeros([2, 2]), x)).toThrow(/matmul: input b \[2, 2\] holds NaN at flat index 2/);
    expect(() => be.rmsnorm(be.fromArray([1, Infinity], [1, 2]), be.zeros([2]), 1e-5)).toThrow(/rmsnorm: input x \[1, 2\] holds Infinity at flat index 1/);
    const quiet = await backend('simd128', 1);
    expect(() => quiet.matmul(quiet.zeros([2, 2]), quiet.fromArray([1, 2, NaN, 4], [2, 2]))).not.toThrow();
  });

  it('out of memory: a clear error with the requested size, and the heap stays usable', async () => {
    const kernels = await loadWasmKernels('simd128');
    expect(() => kernels.allocF32(2 ** 30 - 4)).toThrow(/out of memory allocating 4294967280 bytes/);
    expect(() => kernels.allocF32(2 ** 32 + 8)).toThrow(/cannot allocate 17179869216 bytes/);
    const be = await backend('simd128', 1);
    expect(() => be.zeros([65536, 65536])).toThrow(/17179869184 bytes/);
    const p = kernels.allocF32(4);
    expect(p % 16).toBe(0);
    kernels.freeF32(p, 4);
    expect(await be.read(be.fromArray([1, 2], [2]))).toEqual(new Float32Array([1, 2]));
  });
});
