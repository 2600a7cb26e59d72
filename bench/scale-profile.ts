/**
 * Where a bench-scale point's training step goes on unilab: the wall time of every Backend call (bench/profile.ts),
 * matmuls split by transposition and shape with their GFLOP/s, over the fastest of a few steps.
 *
 *   npm run -s bench:scale-profile -- KEY [--steps N] [--threads N]
 *
 * KEY is a point of bench/scale-grid.ts (architecture/size/seqLen), e.g. decoder/5M/2048, prefix-lm/5M/256,
 * encoder-decoder/5M/256. One warm-up step, then N (default 3) timed steps on the same windows as bench:scale;
 * prints the fastest step's profile (the one least disturbed by other processes on a shared machine).
 */
import { AdamW, Rng, Trainer, createWasmBackend, type ArchitecturePlugin } from '@unilab/core';
import { decoder, encoderDecoderArchitecture, prefixLmArchitecture } from '@unilab/plugins-arch';
import { benchSmall as c } from './config.ts';
import { benchTokens } from './data.ts';
import { profiled } from './profile.ts';
import { scaleBatcher } from './scale-batches.ts';
import { SCALE_VOCAB, modelConfig, pointKey, scaleGrid, type ScalePoint } from './scale-grid.ts';

const argv = process.argv.slice(2);
const key = argv[0];
const option = (name: string, fallback: number) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);
const steps = option('--steps', 3);
const threads = option('--threads', c.threads);
const grid = scaleGrid();
const point = grid.find((p) => pointKey(p) === key);
if (!point) throw new Error(`no bench-scale point ${key}; the points are ${grid.map(pointKey).join(', ')}`);
if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, got ${argv[argv.indexOf('--steps') + 1]}`);
if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads must be a positive integer, got ${argv[argv.indexOf('--threads') + 1]}`);

const plugins: Record<ScalePoint['architecture'], ArchitecturePlugin<any>> = { decoder, 'prefix-lm': prefixLmArchitecture, 'encoder-decoder': encoderDecoderArchitecture };
const { tokens } = await benchTokens(SCALE_VOCAB);
const inner = await createWasmBackend(undefined, { threads });
const prof = profiled(inner, { shapes: true });
const backend = prof.backend;
const model = plugins[point.architecture].create(modelConfig(point.architecture, point.shape), { backend, vocabSize: SCALE_VOCAB, rng: new Rng(c.seed) });
const optimizer = new AdamW(backend, model.params, { beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, clipNorm: c.clipNorm });
const schedule = { kind: 'constant' as const, maxLr: c.lr, minLr: c.lr, warmupSteps: 0, totalSteps: 1_000_000, decayFraction: 0 };
const trainer = new Trainer(backend, model, optimizer, scaleBatcher(tokens, point), schedule);

let best: { seconds: number; times: Record<string, number>; flops: Record<string, number> } | undefined;
for (let s = 0; s <= steps; s++) {
  prof.take();
  const t0 = performance.now();
  const r = await trainer.trainStep();
  const seconds = (performance.now() - t0) / 1000;
  const flops = prof.flops();
  const times = prof.take();
  console.error(`step ${s}${s === 0 ? ' (warm-up)' : ''}: ${seconds.toFixed(3)} s, loss ${r.loss.toFixed(4)}`);
  if (s > 0 && (!best || seconds < best.seconds)) best = { seconds, times, flops };
}
inner.close();

const { seconds, times, flops } = best!;
const inOps = Object.values(times).reduce((a, b) => a + b, 0);
const ms = (x: number) => (x * 1000).toFixed(1);
console.log(`${key}, ${threads} thread(s): fastest of ${steps} steps ${ms(seconds)} ms (${((point.batchSize * point.seqLen) / seconds).toFixed(0)} tokens/s)`);
console.log(`| op | ms | share | GFLOP/s |\n|---|---:|---:|---:|`);
for (const [name, t] of Object.entries(times).sort((a, b) => b[1] - a[1]))
  if (t >= 0.0005) console.log(`| ${name} | ${ms(t)} | ${((100 * t) / seconds).toFixed(1)}% | ${flops[name] ? (flops[name] / t / 1e9).toFixed(1) : ''} |`);
console.log(`| outside the ops (autodiff, batch upload) | ${ms(seconds - inOps)} | ${((100 * (seconds - inOps)) / seconds).toFixed(1)}% | |`);
