/**
 * The unilab side of bench-gpu, bundled with its dependencies into one file by bench/gpu/prepare.sh and run by
 * bench/gpu.sh with a carried Node binary (the GPU machine has no Node and no network):
 *
 *   node bench.mjs run <config> <outDir>   training tokens/s (f32; and f16-staged matmuls when the adapter has
 *                                           shader-f16) and the kernel table, written to <outDir>/webgpu.json
 *   node bench.mjs summary <outDir>        bench-gpu's table: unilab WebGPU against PyTorch eager (torch.json)
 *   node bench.mjs config <config>         the config as JSON, for the PyTorch side
 * BENCH_GPU_DEADLINE (epoch ms) bounds `run`: the f16 run and the kernel table are skipped when too little is left.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AdamW,
  Rng,
  Trainer,
  createWebGpuBackend,
  parameterCount,
  type Backend,
  type Batch,
  type Batcher,
  type Tensor,
  type WebGpuBackend,
} from '@unilab/core';
import { decoder } from '@unilab/plugins-arch';
import { acquireWebGpuDevice } from '../../libs/runner/src/webgpu-device.ts';
import { configs, median, type BenchGpuConfig, type KernelRow, type SideResult } from './config.ts';

/** Random tokens, causal mask, one document per row: throughput does not depend on the text. */
function syntheticBatcher(c: BenchGpuConfig): Batcher {
  const rng = new Rng(c.seed);
  const n = c.batchSize * c.seqLen;
  return {
    next(): Batch {
      const tokens = Int32Array.from({ length: n }, () => rng.int(c.vocabSize));
      const targets = Int32Array.from({ length: n }, () => rng.int(c.vocabSize));
      return {
        batchSize: c.batchSize,
        seqLen: c.seqLen,
        tokens,
        targets,
        lossMask: new Float32Array(n).fill(1),
        segmentIds: new Int32Array(n),
        prefixEnd: new Int32Array(n),
        positions: Int32Array.from({ length: n }, (_, i) => i % c.seqLen),
      };
    },
    state: () => null,
    restore: () => undefined,
  };
}

async function train(backend: WebGpuBackend, c: BenchGpuConfig, side: string, device: string): Promise<SideResult> {
  const config = decoder.configSchema.parse(
    { layers: c.layers, dModel: c.dModel, heads: c.heads, ffnHidden: c.ffnHidden, normEps: c.normEps, ropeBase: c.ropeBase },
    'bench',
  );
  const model = decoder.create(config, { backend, vocabSize: c.vocabSize, rng: new Rng(c.seed) });
  const optimizer = new AdamW(backend, model.params, { beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, clipNorm: c.clipNorm });
  const total = c.warmupSteps + c.timedSteps;
  const schedule = { kind: 'constant' as const, maxLr: c.lr, minLr: c.lr, warmupSteps: 0, totalSteps: total, decayFraction: 0 };
  const trainer = new Trainer(backend, model, optimizer, syntheticBatcher(c), schedule);
  const losses: number[] = [];
  const stepSeconds: number[] = [];
  let peak = 0;
  for (let s = 0; s < total; s++) {
    const t0 = performance.now();
    const r = await trainer.trainStep();
    const dt = (performance.now() - t0) / 1000;
    losses.push(r.loss);
    if (s >= c.warmupSteps) stepSeconds.push(dt);
    peak = Math.max(peak, backend.memoryStats().reservedBytes);
    console.error(`${side} step ${s + 1}: loss ${r.loss.toFixed(4)}, ${dt.toFixed(3)} s`);
  }
  const m = median(stepSeconds);
  const parameters = parameterCount(model.params);
  optimizer.dispose();
  for (const p of model.params) (backend.dispose(p.value), backend.dispose(p.grad));
  return {
    side,
    device,
    stepSeconds,
    medianSeconds: m,
    tokensPerSecond: (c.batchSize * c.seqLen) / m,
    losses,
    parameters,
    peakMemoryBytes: peak,
    detail: `${backend.counters.submits} submissions, ${backend.counters.dispatches} dispatches in ${total} steps`,
  };
}

/** Time `reps` recordings of `op` (outputs disposed) up to one read-back that waits for them all. */
async function time(be: Backend, reps: number, op: () => Tensor[]): Promise<number> {
  const sync = async (ts: Tensor[]) => {
    await be.read(ts[0]);
    for (const t of ts) be.dispose(t);
  };
  await sync(op());
  const t0 = performance.now();
  for (let r = 0; r < reps - 1; r++) for (const t of op()) be.dispose(t);
  await sync(op());
  return (performance.now() - t0) / reps;
}

async function kernels(be: WebGpuBackend, c: BenchGpuConfig): Promise<KernelRow[]> {
  const rng = new Rng(7);
  const randn = (shape: number[], scale = 1) => be.fromArray(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale), shape);
  const reps = c.name === 'tiny' ? 2 : 10;
  const n = c.batchSize * c.seqLen;
  const { dModel: d, ffnHidden: f, vocabSize: v, heads: h, seqLen: t, batchSize: b } = c;
  const hd = d / h;
  const rows: KernelRow[] = [];
  const gflops = (kernel: string, shape: string, ms: number, flops: number) => rows.push({ kernel, shape, milliseconds: ms, rate: flops / ms / 1e6, unit: 'GFLOP/s' });
  const gbs = (kernel: string, shape: string, ms: number, bytes: number) => rows.push({ kernel, shape, milliseconds: ms, rate: bytes / ms / 1e6, unit: 'GB/s' });

  const square = c.name === 'tiny' ? [64, 128] : [1024, 2048, 4096];
  for (const s of square) {
    const [x, w] = [randn([s, s]), randn([s, s])];
    gflops('matmul NN', `${s}³`, await time(be, reps, () => [be.matmul(x, w)]), 2 * s * s * s);
    (be.dispose(x), be.dispose(w));
  }
  const products: [string, number, number, number, boolean, boolean][] = [
    ['matmul NN (x·W, attention proj.)', n, d, d, false, false],
    ['matmul NN (x·W, FFN up)', n, d, f, false, false],
    ['matmul NT (dy·Wᵀ, FFN down dx)', n, d, f, false, true],
    ['matmul TN (xᵀ·dy, FFN up dW)', d, n, f, true, false],
    ['matmul NN (output head)', n, d, v, false, false],
  ];
  for (const [name, m, k, nn, ta, tb] of products) {
    const a = randn(ta ? [k, m] : [m, k]);
    const w = randn(tb ? [nn, k] : [k, nn]);
    gflops(name, `${m}×${k}×${nn}`, await time(be, reps, () => [be.matmul(a, w, ta, tb)]), 2 * m * k * nn);
    (be.dispose(a), be.dispose(w));
  }

  // Attention at the model's shape, causal: fwd counts QKᵀ and PV over the visible half; bwd five such products.
  const [q, k, vv, dout] = [randn([b, t, h, hd]), randn([b, t, h, hd]), randn([b, t, h, hd]), randn([b, t, h, hd])];
  const seg = be.zeros([b, t], 'i32');
  for (const [label, prefix] of [
    ['causal', 0],
    [`prefix ${t / 2}`, t / 2],
  ] as const) {
    const pre = be.fromArray(new Int32Array(b * t).fill(prefix), [b, t], 'i32');
    const mask = { querySegments: seg, keySegments: seg, prefixEnd: pre };
    const options = { scale: 1 / Math.sqrt(hd) };
    const visible = label === 'causal' ? (t * (t + 1)) / 2 : (t * (t + 1)) / 2 + ((t / 2) * (t / 2 - 1)) / 2;
    const pairFlops = 2 * b * h * visible * hd;
    gflops(`attention fwd (${label})`, `B${b} H${h} T${t} D${hd}`, await time(be, reps, () => Object.values(be.attention(q, k, vv, mask, options))), 2 * pairFlops);
    const fwd = be.attention(q, k, vv, mask, options);
    const ms = await time(be, reps, () => {
      const g = be.attentionBackward(dout, q, k, vv, fwd.out, fwd.lse, mask, options);
      return [g.dq, g.dk, g.dv];
    });
    gflops(`attention bwd (${label})`, `B${b} H${h} T${t} D${hd}`, ms, 5 * pairFlops);
    (be.dispose(fwd.out), be.dispose(fwd.lse), be.dispose(pre));
  }
  for (const x of [q, k, vv, dout, seg]) be.dispose(x);

  const x = randn([n, d]);
  const w = randn([d]);
  const rn = be.rmsnorm(x, w, 1e-5);
  gbs('rmsnorm fwd+bwd', `${n}×${d}`, await time(be, reps, () => {
    const y = be.rmsnorm(x, w, 1e-5);
    const g = be.rmsnormBackward(y.y, x, w, y.rstd);
    return [g.dx, g.dweight, y.y, y.rstd];
  }), 4 * n * d * 5);
  (be.dispose(rn.y), be.dispose(rn.rstd), be.dispose(x), be.dispose(w));
  const [gate, up] = [randn([n, f]), randn([n, f])];
  gbs('swiglu fwd+bwd', `${n}×${f}`, await time(be, reps, () => {
    const y = be.swiglu(gate, up);
    const g = be.swigluBackward(y, gate, up);
    return [g.dgate, g.dup, y];
  }), 4 * n * f * 8);
  (be.dispose(gate), be.dispose(up));
  const logits = randn([n, v]);
  const targets = be.fromArray(Int32Array.from({ length: n }, () => rng.int(v)), [n], 'i32');
  const lossMask = be.fromArray(new Float32Array(n).fill(1), [n]);
  gbs('cross-entropy (loss + dlogits)', `${n}×${v}`, await time(be, reps, () => Object.values(be.crossEntropy(logits, targets, lossMask))), 4 * n * v * 4);
  for (const tt of [logits, targets, lossMask]) be.dispose(tt);
  const [p, g, m1, m2] = [randn([d, v]), randn([d, v]), randn([d, v], 0), randn([d, v], 0)];
  let step = 0;
  gbs('adamw', `${d}×${v}`, await time(be, reps, () => {
    be.adamw(p, g, m1, m2, { lr: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: ++step });
    return [be.scale(p, 1)];
  }), 4 * d * v * 7);
  for (const tt of [p, g, m1, m2]) be.dispose(tt);
  return rows;
}

async function run(configName: string, outDir: string): Promise<void> {
  const c = configs[configName];
  if (!c) throw new Error(`unknown config "${configName}"; choose one of ${Object.keys(configs).join(', ')}`);
  const gpu = await acquireWebGpuDevice();
  const device = `${gpu.description} (${gpu.runtime}; features: ${gpu.features.join(', ') || 'none'})`;
  console.error(`WebGPU adapter: ${device}`);
  const results: SideResult[] = [];
  const f32 = createWebGpuBackend(gpu.device);
  console.error(`limits: maxStorageBufferBindingSize ${f32.limits.maxStorageBufferBindingSize}, maxComputeWorkgroupStorageSize ${f32.limits.maxComputeWorkgroupStorageSize}`);
  const started = Date.now();
  let run = c;
  try {
    results.push(await train(f32, c, 'unilab WebGPU f32', device));
  } catch (e) {
    // A device whose storage bindings cannot hold the logits [batch·seq, vocab]: say so, and measure at half the batch.
    if (!(e instanceof RangeError) || !/maxStorageBufferBindingSize/.test(e.message)) throw e;
    console.error(`${e.message}\n-> measuring at batch ${c.batchSize / 2} instead`);
    run = { ...c, batchSize: c.batchSize / 2 };
    results.push(await train(f32, run, `unilab WebGPU f32 (batch ${run.batchSize})`, device));
  }
  const deadline = Number(process.env.BENCH_GPU_DEADLINE ?? Infinity);
  const enough = () => Date.now() + (Date.now() - started) * 1.2 < deadline;
  const table = enough() ? await kernels(f32, run) : [];
  f32.destroy();
  if (gpu.features.includes('shader-f16') && enough()) {
    const f16 = createWebGpuBackend(gpu.device, { matmulF16: true });
    results.push(await train(f16, run, 'unilab WebGPU, f16-staged matmuls', device));
    f16.destroy();
  }
  writeFileSync(join(outDir, 'webgpu.json'), JSON.stringify({ config: c, results, kernels: table }, null, 1));
  gpu.release();
}

function readJson<T>(path: string, missing: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    console.log(missing);
    return null;
  }
}

function summary(configName: string, outDir: string): void {
  const none = { config: configs[configName], results: [], kernels: [] };
  const web =
    readJson<{ config: BenchGpuConfig; results: SideResult[]; kernels: KernelRow[] }>(join(outDir, 'webgpu.json'), '(no unilab results: see the WebGPU step above)') ?? none;
  const torch = readJson<{ results: SideResult[] }>(join(outDir, 'torch.json'), '(no PyTorch results: see the PyTorch step above)')?.results ?? [];
  const c = web.config;
  const reference = torch.find((r) => r.side.includes('fp32'));
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  console.log(`\n== bench-gpu (${c.name}): vocab ${c.vocabSize}, ${c.layers} layers, d_model ${c.dModel}, ${c.heads} heads, seq ${c.seqLen}, batch ${c.batchSize}`);
  console.log(`   median of ${c.timedSteps} steps after ${c.warmupSteps} warm-up; forward + backward + clipped AdamW step`);
  console.log(`${'side'.padEnd(42)}${'tokens/s'.padStart(12)}${'s/step'.padStart(10)}${'vs torch fp32'.padStart(15)}${'peak mem'.padStart(12)}  last loss`);
  for (const r of [...web.results, ...torch]) {
    const ratio = reference ? `${(r.tokensPerSecond / reference.tokensPerSecond).toFixed(2)}×` : '—';
    console.log(
      `${r.side.padEnd(42)}${r.tokensPerSecond.toFixed(0).padStart(12)}${r.medianSeconds.toFixed(3).padStart(10)}${ratio.padStart(15)}${mib(r.peakMemoryBytes).padStart(12)}  ${r.losses[r.losses.length - 1].toFixed(4)}`,
    );
  }
  for (const r of [...web.results, ...torch]) console.log(`   ${r.side}: ${r.device}${r.detail ? `; ${r.detail}` : ''}; ${(r.parameters / 1e6).toFixed(1)}M parameters`);
  console.log(`\n== kernels (unilab WebGPU f32)`);
  for (const k of web.kernels)
    console.log(`${k.kernel.padEnd(36)}${k.shape.padEnd(24)}${k.milliseconds.toFixed(3).padStart(10)} ms${k.rate.toFixed(1).padStart(12)} ${k.unit}`);
}

const [command, a, b] = process.argv.slice(2);
if (command === 'run') await run(a, b);
else if (command === 'summary') summary(a, b);
else if (command === 'config' && configs[a]) console.log(JSON.stringify(configs[a]));
else {
  console.error('usage: bench.mjs run <bench-gpu|tiny> <outDir> | summary <bench-gpu|tiny> <outDir> | config <bench-gpu|tiny>');
  process.exit(2);
}
