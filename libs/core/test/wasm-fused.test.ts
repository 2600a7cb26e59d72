import { afterAll, describe, expect, it } from 'vitest';
import { AdamW, Rng, Tape, Var, createParameter, ops, type Backend, type Parameter, type Tensor } from '../src/index.ts';
import { createWasmBackend, loadWasmKernels, type WasmBackend } from '../src/backends/wasm/wasm-backend.ts';
import { agrees, ints, values } from './wasm-compare.ts';

// The fused matmuls of kernels-rs/src/fused.rs (Backend.matmulAdd, Backend.swigluProjection): equal to the reference
// backend within 1e-4, and bit for bit equal to the unfused ops on the same backend (matmul then add; two matmuls then
// swiglu), on shapes that cross the KC (256), MC (128) and NC (512) block edges; then a few training steps through
// ops.linearResidual and ops.swigluProjection with the fused kernels and without them (the ops' fallback), which must
// give the same losses and weights, bit for bit.

const backends: WasmBackend[] = [];
afterAll(() => backends.forEach((b) => b.close()));

async function backend(variant: 'simd128' | 'relaxed', threads: number): Promise<WasmBackend> {
  const be = await createWasmBackend(await loadWasmKernels(variant), { threads });
  backends.push(be);
  return be;
}

const f = (be: Backend, shape: number[], seed: number) => be.fromArray(values(shape.reduce((a, b) => a * b, 1), seed), shape);

/** The backend as one without the fused ops: autodiff/ops.ts then composes the unfused ones. */
function withoutFusion(be: Backend): Backend {
  return new Proxy(be, {
    get: (target, key, receiver) => (key === 'matmulAdd' || key === 'swigluProjection' ? undefined : Reflect.get(target, key, receiver)),
  });
}

const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [7, 17, 3],
  [5, 300, 9],
  [130, 19, 1030],
  [67, 300, 131],
];

describe.each([
  ['simd128', 1],
  ['relaxed', 2],
] as const)('fused matmuls (%s build, %i thread(s))', (variant, threads) => {
  it('matmulAdd equals the reference and is matmul + add bit for bit, in all four transpositions', async () => {
    const be = await backend(variant, threads);
    let seed = 1;
    for (const [m, k, n] of SHAPES)
      for (const transA of [false, true])
        for (const transB of [false, true]) {
          const s = (seed += 3);
          const a = (r: Backend) => f(r, transA ? [k, m] : [m, k], s);
          const b = (r: Backend) => f(r, transB ? [n, k] : [k, n], s + 1);
          const res = (r: Backend) => f(r, [m, n], s + 2);
          const label = `matmulAdd ${m}x${k}x${n} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
          await agrees(label, be, (r) => r.matmulAdd!(a(r), b(r), res(r), transA, transB));
          const fused = await be.read(be.matmulAdd(a(be), b(be), res(be), transA, transB));
          const unfused = await be.read(be.add(res(be), be.matmul(a(be), b(be), transA, transB)));
          expect(fused, label).toEqual(unfused);
        }
  });

  it('swigluProjection equals the reference and is two matmuls + swiglu bit for bit', async () => {
    const be = await backend(variant, threads);
    for (const [m, k, n] of SHAPES) {
      const [x, wg, wu] = [(r: Backend) => f(r, [m, k], m + 1), (r: Backend) => f(r, [k, n], n + 2), (r: Backend) => f(r, [k, n], k + 3)];
      await agrees(`swigluProjection ${m}x${k}x${n}`, be, (r) => r.swigluProjection!(x(r), wg(r), wu(r)));
      const fused = be.swigluProjection(x(be), wg(be), wu(be));
      const [gate, up] = [be.matmul(x(be), wg(be)), be.matmul(x(be), wu(be))];
      expect(await be.read(fused.gate)).toEqual(await be.read(gate));
      expect(await be.read(fused.up)).toEqual(await be.read(up));
      expect(await be.read(fused.y)).toEqual(await be.read(be.swiglu(gate, up)));
    }
    // Leading dimensions are kept: [2, 3, 5] -> [2, 3, 7].
    expect(be.swigluProjection(f(be, [2, 3, 5], 1), f(be, [5, 7], 2), f(be, [5, 7], 3)).y.shape).toEqual([2, 3, 7]);
  });
});

describe('fused matmuls refuse bad shapes', () => {
  it('names the operand and the shapes', async () => {
    const be = await backend('relaxed', 1);
    expect(() => be.matmulAdd(be.zeros([4, 5]), be.zeros([5, 6]), be.zeros([4, 7]))).toThrow(/matmulAdd: the residual \[4, 7\] must have the product's shape \[4, 6\]/);
    expect(() => be.matmulAdd(be.zeros([4, 5]), be.zeros([6, 6]), be.zeros([4, 6]))).toThrow(/matmulAdd: inner dimensions differ/);
    expect(() => be.swigluProjection(be.zeros([4, 5]), be.zeros([5, 6]), be.zeros([5, 7]))).toThrow(/swigluProjection: wGate \[5, 6\] and wUp \[5, 7\] must have one shape/);
    const reference = (await import('../src/index.ts')).createReferenceBackend();
    expect(() => reference.matmulAdd(reference.zeros([4, 5]), reference.zeros([5, 6]), reference.zeros([4, 7]))).toThrow(/residual \[4, 7\]/);
  });
});

/** A pre-norm block (attention, SwiGLU FFN) and a head, trained with clipped AdamW through the fused ops. */
async function trainSteps(be: Backend, steps: number) {
  const [bsz, t, dm, h, ffn, vocab] = [3, 40, 32, 4, 300, 97];
  const rng = new Rng(11);
  const param = (shape: number[], std: number): Parameter => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => (std === 0 ? 1 : rng.normal() * std));
    return createParameter(be, `p${shape.join('x')}`, data, shape, shape.length > 1);
  };
  const p = {
    embed: param([vocab, dm], 0.1),
    norm1: param([dm], 0),
    wq: param([dm, dm], 0.1),
    wk: param([dm, dm], 0.1),
    wv: param([dm, dm], 0.1),
    wo: param([dm, dm], 0.1),
    norm2: param([dm], 0),
    gate: param([dm, ffn], 0.1),
    up: param([dm, ffn], 0.1),
    down: param([ffn, dm], 0.1),
    head: param([dm, vocab], 0.1),
  };
  const params = Object.values(p);
  const optimizer = new AdamW(be, params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clipNorm: 1 });
  const losses: number[] = [];
  const live = be.memoryStats().liveTensors;
  for (let step = 0; step < steps; step++) {
    const tokens = ints(bsz * t, 200, 0, vocab);
    const tape = new Tape(be);
    const own = (x: Tensor) => tape.own(x);
    const ids = own(be.fromArray(tokens, [bsz, t]));
    const targets = own(be.fromArray(Int32Array.from(tokens, (x, i) => (tokens[(i + 1) % tokens.length] + (x & 1)) % vocab), [bsz * t]));
    const lossMask = own(be.fromArray(new Float32Array(bsz * t).fill(1), [bsz * t]));
    const zeros = own(be.zeros([bsz, t], 'i32'));
    const mask = { querySegments: zeros, keySegments: zeros, prefixEnd: zeros };
    const v = (x: Parameter) => tape.param(x);
    const x = ops.embedding(tape, ids, v(p.embed));
    const n1 = ops.rmsnorm(tape, x, v(p.norm1), 1e-5);
    const heads = (w: Parameter) => ops.reshape(tape, ops.linear(tape, n1, v(w)), [bsz, t, h, dm / h]);
    const att = ops.reshape(tape, ops.attention(tape, heads(p.wq), heads(p.wk), heads(p.wv), mask, 1 / Math.sqrt(dm / h)), [bsz, t, dm]);
    const x1 = ops.linearResidual(tape, x, att, v(p.wo));
    const n2 = ops.rmsnorm(tape, x1, v(p.norm2), 1e-5);
    const x2 = ops.linearResidual(tape, x1, ops.swigluProjection(tape, n2, v(p.gate), v(p.up)), v(p.down));
    const logits = ops.reshape(tape, ops.linear(tape, x2, v(p.head)), [bsz * t, vocab]);
    const loss = ops.crossEntropy(tape, logits, targets, lossMask);
    tape.backward(loss);
    losses.push((await be.read(loss.value))[0]);
    tape.release();
    const sumSquares = optimizer.gradSumOfSquares();
    optimizer.update(3e-3, sumSquares);
    be.dispose(sumSquares);
  }
  // AdamW's moments are the only tensors a step leaves behind: the handed-on gradients were freed exactly once.
  const leftAfter = be.memoryStats().liveTensors - live;
  const weights = await Promise.all(params.map((x) => be.read(x.value)));
  return { losses, weights: weights.map((w) => Array.from(w)), leftAfter };
}

describe('training through the fused ops', () => {
  it('gives the same losses and weights, bit for bit, with the fused kernels and without them, and leaks nothing', async () => {
    for (const threads of [1, 2]) {
      const be = await backend('relaxed', threads);
      const fused = await trainSteps(be, 3);
      const unfused = await trainSteps(withoutFusion(be), 3);
      expect(fused.losses).toEqual(unfused.losses);
      expect(fused.weights).toEqual(unfused.weights);
      expect(fused.losses[2]).toBeLessThan(fused.losses[0]);
      expect(fused.leftAfter).toBe(unfused.leftAfter);
    }
  });
});

describe('the cross-entropy backward without the dlogits copy', () => {
  it('hands the kernel dlogits on under a seed of 1, scales them under any other, and frees every tensor once', async () => {
    const be = await backend('relaxed', 2);
    const [n, v] = [37, 501];
    for (const seed of [1, 0.25]) {
      const live = be.memoryStats().liveTensors;
      const tape = new Tape(be);
      const w = new Var(f(be, [n, v], 5), true);
      const targets = tape.own(be.fromArray(ints(n, 6, 0, v), [n]));
      const lossMask = tape.own(be.fromArray(values(n, 7, 0, 1), [n]));
      // logits = w through an op, so the gradient reaches a Var that is not the cross-entropy's own input.
      const logits = ops.scale(tape, w, 1);
      const loss = ops.crossEntropy(tape, logits, targets, lossMask);
      tape.backward(loss, seed);
      const want = be.crossEntropy(w.value, targets, lossMask);
      const expected = Float32Array.from(await be.read(want.dlogits), (x) => Math.fround(x * seed));
      expect(await be.read(w.grad!), `seed ${seed}`).toEqual(expected);
      // w.grad belongs to the tape (accumulate took it), as every gradient it hands out.
      [want.loss, want.dlogits].forEach((t) => be.dispose(t));
      tape.release();
      be.dispose(w.value);
      expect(be.memoryStats().liveTensors, `seed ${seed}: tensors left`).toBe(live);
    }
  });
});
