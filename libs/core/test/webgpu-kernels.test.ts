import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.ts';
import type { Backend } from '../src/backend/backend.ts';
import type { Tensor } from '../src/backend/tensor.ts';
import { createReferenceBackend } from '../src/backends/reference/reference-backend.ts';
import { createWebGpuBackend, type WebGpuBackend } from '../src/backends/webgpu/webgpu-backend.ts';
// The device comes from the runtime edge (libs/runner), as in an application.
import { ParityTable, relativeError, webgpuOrSkip } from '../../runner/test/webgpu-fixture.ts';

// Every WGSL kernel, forward and backward, against the reference backend on small odd shapes (tiles cut across
// every edge) and every attention mask mode. Shapes stay small: on lavapipe the GPU is the CPU.
const device = await webgpuOrSkip();
const table = new ParityTable();
const TOL = 1e-4;

type Inputs = Record<string, { data: Float32Array | Int32Array; shape: number[] }>;
type Outputs = Record<string, Tensor>;

const rng = new Rng(8);
const randn = (n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.normal() * scale);
const ints = (n: number, bound: number) => Int32Array.from({ length: n }, () => rng.int(bound));
const f = (shape: number[], scale = 1) => ({ data: randn(shape.reduce((a, b) => a * b, 1), scale), shape });
const i = (data: number[] | Int32Array, shape: number[]) => ({ data: Int32Array.from(data), shape });

/** Run `op` on both backends with the same inputs; every output must agree within `tol` (relative to its scale). */
async function parity(gpu: Backend, name: string, inputs: Inputs, op: (be: Backend, x: Record<string, Tensor>) => Outputs, tol = TOL) {
  const results: Record<string, Float32Array | Int32Array>[] = [];
  for (const be of [createReferenceBackend(), gpu]) {
    const x = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, be.fromArray(v.data, v.shape)]));
    const out = op(be, x);
    const values = await Promise.all(Object.entries(out).map(async ([k, t]) => [k, await be.read(t)] as const));
    results.push(Object.fromEntries(values));
    for (const t of new Set([...Object.values(x), ...Object.values(out)])) be.dispose(t);
  }
  for (const key of Object.keys(results[0])) {
    const error = relativeError(results[1][key], results[0][key]);
    table.record(`${name}: ${key}`, error);
    expect(error, `${name}: ${key}`).toBeLessThan(tol);
  }
}

describe.skipIf(!device)('WebGPU kernels equal the reference backend', () => {
  const variants: [string, WebGpuBackend][] = device
    ? [
        ['', createWebGpuBackend(device.device)],
        [' (no subgroups)', createWebGpuBackend(device.device, { subgroups: false })],
      ]
    : [];
  const gpu = variants[0]?.[1];

  afterAll(() => {
    table.print(`WebGPU vs reference, max relative error — ${device?.description}, features [${device?.features.join(', ')}]`);
    for (const [, be] of variants) be.destroy();
    device?.release();
  });

  it('matmul: every transpose combination on odd shapes; the three a linear layer uses on 128×128 tiles', async () => {
    const all = [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ] as const;
    for (const [m, k, n] of [
      [37, 29, 23],
      [1, 5, 3],
      [520, 19, 515],
    ]) {
      for (const [ta, tb] of m < 512 ? all : all.slice(0, 3)) {
        const inputs = { a: f(ta ? [k, m] : [m, k]), b: f(tb ? [n, k] : [k, n]) };
        await parity(gpu, `matmul ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`, inputs, (be, x) => ({ c: be.matmul(x.a, x.b, ta, tb) }));
      }
    }
    await parity(gpu, 'matmul NN', { a: f([2, 5, 7]), b: f([7, 3]) }, (be, x) => ({ c: be.matmul(x.a, x.b) }));
  });

  it('matmul with f16-staged tiles (shader-f16 only): inputs rounded to half, f32 sums; f32 without the feature', async () => {
    const half = createWebGpuBackend(device!.device, { matmulF16: true });
    expect(half.matmulF16).toBe(device!.features.includes('shader-f16'));
    // f16 keeps 11 significant bits: each product is off by up to ~1e-3 relative, so the sum is too.
    const tol = half.matmulF16 ? 2e-3 : TOL;
    for (const [ta, tb] of [
      [false, false],
      [false, true],
      [true, false],
    ] as const) {
      const inputs = { a: f(ta ? [29, 37] : [37, 29]), b: f(tb ? [23, 29] : [29, 23]) };
      await parity(half, `matmul f16-staged ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`, inputs, (be, x) => ({ c: be.matmul(x.a, x.b, ta, tb) }), tol);
    }
    half.destroy();
  });

  it('addBias and its backward sumRows (one and several row chunks)', async () => {
    for (const rows of [7, 531]) {
      await parity(gpu, 'addBias', { x: f([rows, 37]), b: f([37]) }, (be, x) => ({ y: be.addBias(x.x, x.b) }));
      await parity(gpu, 'sumRows', { dy: f([rows, 37]) }, (be, x) => ({ db: be.sumRows(x.dy) }));
    }
  });

  it('add, mul, addInPlace, scale, scaleBy, fillZero', async () => {
    const inputs = { a: f([3, 67]), b: f([3, 67]), s: f([1]) };
    await parity(gpu, 'add', inputs, (be, x) => ({ c: be.add(x.a, x.b) }));
    await parity(gpu, 'mul', inputs, (be, x) => ({ c: be.mul(x.a, x.b) }));
    expect(() => gpu.mul(gpu.zeros([2, 3]), gpu.zeros([3, 3]))).toThrow(/mul: shapes \[2, 3\] and \[3, 3\] differ/);
    await parity(gpu, 'addInPlace', inputs, (be, x) => (be.addInPlace(x.a, x.b), { a: x.a }));
    await parity(gpu, 'scale', inputs, (be, x) => ({ y: be.scale(x.a, -0.37) }));
    await parity(gpu, 'scaleBy', inputs, (be, x) => ({ y: be.scaleBy(x.a, x.s) }));
    await parity(gpu, 'fillZero', inputs, (be, x) => (be.fillZero(x.a), { a: x.a }));
  });

  it('copyInto lands in order between kernels (the key/value cache\'s append): a kernel\'s output in, a kernel reads it', async () => {
    const inputs = { a: f([2, 5]), b: f([2, 5]), cache: f([4, 5]) };
    await parity(gpu, 'copyInto', inputs, (be, x) => {
      const sum = be.add(x.a, x.b);
      be.copyInto(x.cache, sum, 10);
      return { cache: x.cache, scaled: be.scale(x.cache, 2) };
    });
    const ids = gpu!.fromArray(new Int32Array([7, 8]), [2]);
    const into = gpu!.zeros([5], 'i32');
    gpu!.copyInto(into, ids, 3);
    expect(Array.from(await gpu!.read(into))).toEqual([0, 0, 0, 7, 8]);
    expect(() => gpu!.copyInto(into, ids, 4)).toThrow('copyInto: 2 values at offset 4 do not fit a tensor of 5 [5]');
  });

  it('embedding and its backward (repeated ids, untouched rows)', async () => {
    const inputs = { ids: i(ints(57, 41), [3, 19]), table: f([41, 13]), dy: f([3, 19, 13]) };
    await parity(gpu, 'embedding', inputs, (be, x) => ({ y: be.embedding(x.ids, x.table) }));
    await parity(gpu, 'embeddingBackward', inputs, (be, x) => ({ dtable: be.embeddingBackward(x.ids, x.dy, 41) }));
  });

  it('rmsnorm and layernorm, forward and backward, with and without subgroups', async () => {
    for (const [label, be] of variants) {
      for (const [rows, d] of [
        [300, 37],
        [3, 1030],
      ]) {
        const inputs = { x: f([rows, d]), w: f([d]), b: f([d]), dy: f([rows, d]) };
        await parity(be, `rmsnorm${label}`, inputs, (bk, x) => {
          const { y, rstd } = bk.rmsnorm(x.x, x.w, 1e-5);
          const { dx, dweight } = bk.rmsnormBackward(x.dy, x.x, x.w, rstd);
          return { y, rstd, dx, dweight };
        });
        await parity(be, `layernorm${label}`, inputs, (bk, x) => {
          const { y, mean, rstd } = bk.layernorm(x.x, x.w, x.b, 1e-5);
          const { dx, dweight, dbias } = bk.layernormBackward(x.dy, x.x, x.w, mean, rstd);
          return { y, mean, rstd, dx, dweight, dbias };
        });
      }
    }
  });

  it('swiglu, gelu, relu and their backward; dropout bit for bit', async () => {
    const inputs = { g: f([5, 77], 3), u: f([5, 77]), dy: f([5, 77]), seed: i(ints(9, 1000), [9]) };
    await parity(gpu, 'swiglu', inputs, (be, x) => ({ y: be.swiglu(x.g, x.u), ...be.swigluBackward(x.dy, x.g, x.u) }));
    await parity(gpu, 'gelu', inputs, (be, x) => ({ y: be.gelu(x.g), dx: be.geluBackward(x.dy, x.g) }));
    await parity(gpu, 'relu', inputs, (be, x) => ({ y: be.relu(x.g), dx: be.reluBackward(x.dy, x.g) }));
    for (const rate of [0, 0.1, 0.5]) await parity(gpu, 'dropout', inputs, (be, x) => ({ y: be.dropout(x.g, rate, x.seed, 77) }), 1e-6);
  });

  it('rope forward and inverse (= backward), odd head size, far positions, 2D rotary', async () => {
    const pos = i(ints(14, 900), [2, 7]);
    const blockPos = i(ints(14, 30), [2, 7]);
    for (const d of [10, 9]) {
      await parity(gpu, 'rope', { x: f([2, 7, 3, d]), pos }, (be, x) => ({
        y: be.rope(x.x, x.pos, 10000),
        inverse: be.rope(x.x, x.pos, 10000, true),
      }));
    }
    await parity(gpu, 'rope 2D', { x: f([2, 7, 3, 12]), pos, blockPos }, (be, x) => ({
      y: be.rope(x.x, x.pos, 10000, false, x.blockPos),
      inverse: be.rope(x.x, x.pos, 10000, true, x.blockPos),
    }));
  });

  // The mask modes of the Batch contract (batch.ts), as per-position descriptors over T = 19 (two 16-wide tiles).
  const T = 19;
  const modes: Record<string, { segments: number[]; prefixEnd: number[] }> = {
    causal: { segments: Array(T).fill(0), prefixEnd: Array(T).fill(0) },
    bidirectional: { segments: Array(T).fill(0), prefixEnd: Array(T).fill(T) },
    'prefix-LM (prefix 7)': { segments: Array(T).fill(0), prefixEnd: Array(T).fill(7) },
    'packed documents': { segments: [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2], prefixEnd: Array(T).fill(0) },
    'GLM Part A (11) / Part B': { segments: Array(T).fill(0), prefixEnd: Array(T).fill(11) },
    'UniLM seq2seq (source 5)': { segments: Array(T).fill(0), prefixEnd: [...Array(5).fill(5), ...Array(T - 5).fill(0)] },
    'padding (segment -1), a query seeing nothing': {
      segments: [...Array(15).fill(0), -1, -1, -1, 3],
      prefixEnd: Array(T).fill(0),
    },
  };

  const attentionCase = async (be: Backend, name: string, b: number, tq: number, tk: number, h: number, hkv: number, d: number, m: Inputs, bias: boolean) => {
    const inputs: Inputs = { q: f([b, tq, h, d]), k: f([b, tk, hkv, d]), v: f([b, tk, hkv, d]), dout: f([b, tq, h, d]), ...m };
    if (bias) inputs.bias = f([h, tq, tk]);
    await parity(be, name, inputs, (bk, x) => {
      const mask = { querySegments: x.qseg, keySegments: x.kseg, prefixEnd: x.pre };
      const options = x.bias ? { scale: 1 / Math.sqrt(d), bias: x.bias } : { scale: 1 / Math.sqrt(d) };
      const { out, lse } = bk.attention(x.q, x.k, x.v, mask, options);
      const g = bk.attentionBackward(x.dout, x.q, x.k, x.v, out, lse, mask, options);
      return { out, lse, ...g } as Outputs;
    });
  };

  it.each(Object.keys(modes))('attention forward and backward, mask mode: %s', async (mode) => {
    const { segments, prefixEnd } = modes[mode];
    const m = { qseg: i([...segments, ...segments], [2, T]), kseg: i([...segments, ...segments], [2, T]), pre: i([...prefixEnd, ...prefixEnd], [2, T]) };
    await attentionCase(gpu, `attention [${mode}]`, 2, T, T, 4, 2, 12, m, false);
  });

  it('attention with grouped-query heads, odd head size, an additive bias and its gradient', async () => {
    const seg = Array(T).fill(0);
    const m = { qseg: i([...seg, ...seg], [2, T]), kseg: i([...seg, ...seg], [2, T]), pre: i(Array(2 * T).fill(4), [2, T]) };
    await attentionCase(gpu, 'attention + bias', 2, T, T, 6, 2, 5, m, true);
    await attentionCase(gpu, 'attention + bias', 1, 33, 33, 1, 1, 3, { qseg: i(Array(33).fill(0), [1, 33]), kseg: i(Array(33).fill(0), [1, 33]), pre: i(Array(33).fill(0), [1, 33]) }, true);
  });

  it('cross-attention: decoder queries over encoder keys of the same segment (Tq ≠ Tk)', async () => {
    const tk = 23;
    const m = {
      qseg: i([...Array(10).fill(0), ...Array(T - 10).fill(1), ...Array(T).fill(0)], [2, T]),
      kseg: i([...Array(12).fill(0), ...Array(tk - 12).fill(1), ...Array(tk).fill(0)], [2, tk]),
      pre: i(Array(2 * T).fill(tk), [2, T]),
    };
    await attentionCase(gpu, 'cross-attention', 2, T, tk, 4, 4, 8, m, false);
  });

  it('cross-entropy with a loss mask (vocabulary wider than a workgroup), with and without subgroups', async () => {
    const mask = Float32Array.from({ length: 23 }, (_, r) => (r % 4 === 0 ? 0 : 1));
    const inputs = { logits: f([23, 300], 3), targets: i(ints(23, 300), [23]), mask: { data: mask, shape: [23] } };
    for (const [label, be] of variants)
      await parity(be, `crossEntropy${label}`, inputs, (bk, x) => bk.crossEntropy(x.logits, x.targets, x.mask));
    const none = { ...inputs, mask: { data: new Float32Array(23), shape: [23] } };
    await parity(gpu, 'crossEntropy (all masked)', none, (be, x) => be.crossEntropy(x.logits, x.targets, x.mask));
  });

  it('sum of squares, global-norm clipping, AdamW', async () => {
    const inputs = { a: f([70, 300]), b: f([13]), c: f([1]), g: f([13]), m: f([13], 0.1), v: { data: randn(13).map((x) => x * x), shape: [13] } };
    for (const [label, be] of variants)
      await parity(be, `sumOfSquares${label}`, inputs, (bk, x) => ({ ss: bk.sumOfSquares([x.a, x.b, x.c]) }));
    for (const maxNorm of [1, 1e6])
      await parity(gpu, 'clipByGlobalNorm', inputs, (be, x) => {
        const ss = be.sumOfSquares([x.a, x.b]);
        be.clipByGlobalNorm([x.a, x.b], ss, maxNorm);
        return { a: x.a, b: x.b, ss };
      });
    await parity(gpu, 'adamw', inputs, (be, x) => {
      be.adamw(x.b, x.g, x.m, x.v, { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 7 });
      return { p: x.b, m: x.m, v: x.v };
    });
  });

  it('memory: zeros, write, read, reshape views share memory and are released with their last handle', async () => {
    const before = gpu.memoryStats();
    const t = gpu.zeros([3, 5]);
    expect(Array.from(await gpu.read(t))).toEqual(Array(15).fill(0));
    gpu.write(t, Float32Array.from({ length: 15 }, (_, k) => k));
    const view = gpu.reshape(t, [15]);
    gpu.dispose(t);
    expect(Array.from(await gpu.read(view))).toEqual(Array.from({ length: 15 }, (_, k) => k));
    const ids = gpu.fromArray(new Int32Array([3, -1, 7]), [3]);
    expect(Array.from(await gpu.read(ids))).toEqual([3, -1, 7]);
    gpu.dispose(view);
    gpu.dispose(ids);
    // A reused (dirty) buffer still comes back zeroed.
    const again = gpu.zeros([3, 5]);
    expect(Array.from(await gpu.read(again))).toEqual(Array(15).fill(0));
    gpu.dispose(again);
    expect(gpu.memoryStats().liveTensors).toBe(before.liveTensors);
    expect(gpu.memoryStats().liveBytes).toBe(before.liveBytes);
  });

  it('refuses bad input with the reference messages and names device limits', async () => {
    const ref = createReferenceBackend();
    expect(() => gpu.embedding(gpu.fromArray(new Int32Array([0, 41]), [2]), gpu.zeros([41, 3]))).toThrow(/token id 41 at position 1 is outside the vocabulary \[0, 41\)/);
    expect(() => gpu.crossEntropy(gpu.zeros([2, 5]), gpu.fromArray(new Int32Array([1, 5]), [2]), gpu.fromArray(new Float32Array([1, 1]), [2]))).toThrow(
      /target 5 at row 1 is outside \[0, 5\)/,
    );
    expect(() => gpu.add(ref.zeros([2]), gpu.zeros([2]))).toThrow(/belongs to backend "reference"/);
    const limit = gpu.limits.maxStorageBufferBindingSize;
    expect(() => gpu.zeros([Math.floor(limit / 4) + 1])).toThrow(new RegExp(`maxStorageBufferBindingSize of ${limit} bytes`));
  });
});
