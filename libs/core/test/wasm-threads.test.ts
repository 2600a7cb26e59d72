import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AdamW, Rng, Tape, createParameter, ops, type Backend, type Parameter, type Tensor } from '../src/index.ts';
import { createWasmBackend, loadWasmKernels, type WasmBackend } from '../src/backends/wasm/wasm-backend.ts';
import { ints, values } from './wasm-compare.ts';

// Matmul, attention and cross-entropy are cut into units that any thread may run (kernels-rs/src/pool.rs); a unit's
// result never depends on which thread ran it, so 1, 2 and 3 threads must give the same bits.

const backends: WasmBackend[] = [];
afterAll(() => backends.forEach((b) => b.close()));

async function withThreads(threads: number): Promise<WasmBackend> {
  const be = await createWasmBackend(await loadWasmKernels(), { threads });
  backends.push(be);
  return be;
}

async function readAll(be: Backend, ts: Record<string, Tensor | undefined>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(ts)) if (t) out[k] = Array.from(await be.read(t));
  return out;
}

/** Every op that the pool splits, on shapes large enough to be split. */
async function splitOps(be: WasmBackend) {
  const f = (shape: number[], seed: number) => be.fromArray(values(shape.reduce((a, b) => a * b, 1), seed), shape);
  const results: Record<string, Tensor | undefined> = {
    nn: be.matmul(f([130, 257], 1), f([257, 1030], 2)),
    nt: be.matmul(f([300, 64], 3), f([513, 64], 4), false, true),
    tn: be.matmul(f([700, 96], 5), f([700, 160], 6), true, false),
    // The fused matmuls (fused.rs) on matmul's grid: across KC, MC and NC block edges.
    'nn + residual': be.matmulAdd(f([130, 300], 19), f([300, 1030], 20), f([130, 1030], 21)),
    'nt + residual': be.matmulAdd(f([300, 64], 22), f([513, 64], 23), f([300, 513], 24), false, true),
  };
  const projected = be.swigluProjection(f([130, 300], 25), f([300, 700], 26), f([300, 700], 27));
  Object.assign(results, { 'swiglu projection y': projected.y, 'swiglu projection gate': projected.gate, 'swiglu projection up': projected.up });
  const [b, t, h, hkv, d] = [3, 70, 4, 2, 16];
  const seg = Int32Array.from({ length: b * t }, (_, i) => ((i % t) < 30 ? 0 : 1));
  const mask = { querySegments: be.fromArray(seg, [b, t]), keySegments: be.fromArray(seg, [b, t]), prefixEnd: be.zeros([b, t], 'i32') };
  const [q, k, v, dout] = [f([b, t, h, d], 7), f([b, t, hkv, d], 8), f([b, t, hkv, d], 9), f([b, t, h, d], 10)];
  for (const bias of [undefined, f([h, t, t], 11)]) {
    const options = bias ? { scale: 0.25, bias } : { scale: 0.25 };
    const { out, lse } = be.attention(q, k, v, mask, options);
    const g = be.attentionBackward(dout, q, k, v, out, lse, mask, options);
    const tag = bias ? 'biased' : 'plain';
    Object.assign(results, { [`${tag} out`]: out, [`${tag} lse`]: lse, [`${tag} dq`]: g.dq, [`${tag} dk`]: g.dk, [`${tag} dv`]: g.dv, [`${tag} dbias`]: g.dbias });
  }
  // A sequence longer than one backward chunk (1,024 query rows) in a batch of one: the forward and the backward are
  // cut into chunks of query rows, and the chunks' shares of dk and dv are added after.
  {
    const [b, t, h, hkv, d] = [1, 1100, 2, 1, 8];
    const mask = { querySegments: be.zeros([b, t], 'i32'), keySegments: be.zeros([b, t], 'i32'), prefixEnd: be.fromArray(new Int32Array(t).fill(200), [b, t]) };
    const [q, k, v, dout] = [f([b, t, h, d], 28), f([b, t, hkv, d], 29), f([b, t, hkv, d], 30), f([b, t, h, d], 31)];
    const { out, lse } = be.attention(q, k, v, mask, { scale: 0.3 });
    const g = be.attentionBackward(dout, q, k, v, out, lse, mask, { scale: 0.3 });
    Object.assign(results, { 'long out': out, 'long lse': lse, 'long dq': g.dq, 'long dk': g.dk, 'long dv': g.dv });
  }
  const ce = be.crossEntropy(f([300, 1031], 12), be.fromArray(ints(300, 13, 0, 1031), [300]), be.fromArray(values(300, 14, 0, 1), [300]));
  // Elementwise kernels large enough to be cut into blocks.
  const [g, u, dy] = [f([301, 1001], 15), f([301, 1001], 16), f([301, 1001], 17)];
  const swiglu = be.swigluBackward(dy, g, u);
  const [param, m1, m2] = [f([301, 1001], 18), be.zeros([301, 1001]), be.zeros([301, 1001])];
  be.adamw(param, g, m1, m2, { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 1 });
  Object.assign(results, { swiglu: be.swiglu(g, u), dgate: swiglu.dgate, dup: swiglu.dup, gelu: be.geluBackward(dy, g), param, m1, m2, add: be.add(g, u) });
  return readAll(be, { ...results, loss: ce.loss, dlogits: ce.dlogits });
}

/** A small decoder-like model written with the core ops, trained a few steps with clipped AdamW. */
async function trainSteps(be: Backend, steps: number) {
  const [bsz, t, dm, h, vocab] = [4, 48, 32, 4, 97];
  const rng = new Rng(7);
  const param = (shape: number[], std: number): Parameter => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => (std === 0 ? 1 : rng.normal() * std));
    return createParameter(be, `p${shape.join('x')}`, data, shape, shape.length > 1);
  };
  const p = {
    embed: param([vocab, dm], 0.1),
    norm: param([dm], 0),
    wq: param([dm, dm], 0.1),
    wk: param([dm, dm / 2], 0.1),
    wv: param([dm, dm / 2], 0.1),
    wo: param([dm, dm], 0.1),
    gate: param([dm, 40], 0.1),
    up: param([dm, 40], 0.1),
    down: param([40, dm], 0.1),
    head: param([dm, vocab], 0.1),
  };
  const params = Object.values(p);
  const optimizer = new AdamW(be, params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clipNorm: 1 });
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const tokens = ints(bsz * t, 100, 0, vocab); // one batch, so the loss must fall
    const tape = new Tape(be);
    const own = (x: Tensor) => tape.own(x);
    const ids = own(be.fromArray(tokens, [bsz, t]));
    const targets = own(be.fromArray(Int32Array.from(tokens, (x, i) => (tokens[(i + 1) % tokens.length] + (x & 1)) % vocab), [bsz * t]));
    const lossMask = own(be.fromArray(new Float32Array(bsz * t).fill(1), [bsz * t]));
    const positions = own(be.fromArray(Int32Array.from({ length: bsz * t }, (_, i) => i % t), [bsz, t]));
    const zeros = own(be.zeros([bsz, t], 'i32'));
    const mask = { querySegments: zeros, keySegments: zeros, prefixEnd: zeros };
    const v = (x: Parameter) => tape.param(x);
    const x = ops.embedding(tape, ids, v(p.embed));
    const hN = ops.rmsnorm(tape, x, v(p.norm), 1e-5);
    const q = ops.rope(tape, ops.reshape(tape, ops.linear(tape, hN, v(p.wq)), [bsz, t, h, dm / h]), positions, 10000);
    const k = ops.rope(tape, ops.reshape(tape, ops.linear(tape, hN, v(p.wk)), [bsz, t, h / 2, dm / h]), positions, 10000);
    const vv = ops.reshape(tape, ops.linear(tape, hN, v(p.wv)), [bsz, t, h / 2, dm / h]);
    const att = ops.reshape(tape, ops.attention(tape, q, k, vv, mask, 1 / Math.sqrt(dm / h)), [bsz, t, dm]);
    const x1 = ops.add(tape, x, ops.linear(tape, att, v(p.wo)));
    const ffn = ops.linear(tape, ops.swiglu(tape, ops.linear(tape, x1, v(p.gate)), ops.linear(tape, x1, v(p.up))), v(p.down));
    const logits = ops.reshape(tape, ops.linear(tape, ops.add(tape, x1, ffn), v(p.head)), [bsz * t, vocab]);
    const loss = ops.crossEntropy(tape, logits, targets, lossMask);
    tape.backward(loss);
    losses.push((await be.read(loss.value))[0]);
    tape.release();
    const sumSquares = optimizer.gradSumOfSquares();
    optimizer.update(3e-3, sumSquares);
    be.dispose(sumSquares);
  }
  const weights = await Promise.all(params.map((x) => be.read(x.value)));
  return { losses, weights: weights.map((w) => Array.from(w)) };
}

describe('threads', () => {
  it('matmul, the fused matmuls, attention (with and without bias), cross-entropy and elementwise kernels give the same bits on 1, 2 and 3 threads', async () => {
    const one = await splitOps(await withThreads(1));
    expect(await splitOps(await withThreads(2))).toEqual(one);
    expect(await splitOps(await withThreads(3))).toEqual(one);
  });

  it('training steps give bit-identical losses and weights on 1 and 2 threads', async () => {
    const one = await trainSteps(await withThreads(1), 4);
    const two = await trainSteps(await withThreads(2), 4);
    expect(two.losses).toEqual(one.losses);
    expect(two.weights).toEqual(one.weights);
    expect(one.losses[3]).toBeLessThan(one.losses[0]);
  });

  it('a program that leaves its worker threads running still exits by itself', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unilab-exit-'));
    const script = join(dir, 'exits.mts');
    const backendUrl = new URL('../src/backends/wasm/wasm-backend.ts', import.meta.url).href;
    writeFileSync(
      script,
      `import { createWasmBackend } from ${JSON.stringify(backendUrl)};\n` +
        `const be = await createWasmBackend(undefined, { threads: 2 });\n` +
        `const a = be.zeros([256, 256]);\n` +
        `be.matmul(a, a);\n` +
        // One string: console.log colours a bare number when FORCE_COLOR is set (as under nx).
        "console.log(`threads ${be.threads}`);\n",
    );
    const deno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';
    const args = deno ? ['run', '-A', '--conditions=development', script] : ['--import', 'tsx', script];
    const cwd = fileURLToPath(new URL('..', import.meta.url));
    const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 60_000 });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('threads 2');
    expect(result.status).toBe(0);
  });
});
