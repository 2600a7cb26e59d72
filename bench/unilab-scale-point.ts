/**
 * The unilab side of one bench-scale point, run by bench/scale.ts in its own process (so its peak RSS is its own):
 *   tsx --conditions=development bench/unilab-scale-point.ts '<point json>' <tokens.i32>
 * The point JSON is bench/scale.ts's PointJob (a ScalePoint plus steps and threads). Prints one JSON line (ScaleSide)
 * last; per-step progress goes to stderr.
 */
import { readFile } from 'node:fs/promises';
import { AdamW, Rng, Trainer, createWasmBackend, parameterCount, type ArchitecturePlugin } from '@unilab/core';
import { decoder, encoderDecoderArchitecture, prefixLmArchitecture } from '@unilab/plugins-arch';
import { benchSmall as c, median } from './config.ts';
import { scaleBatcher } from './scale-batches.ts';
import { modelConfig, type ScalePoint } from './scale-grid.ts';
import type { ScaleSide } from './scale-report.ts';

export interface PointJob {
  point: ScalePoint;
  warmupSteps: number;
  timedSteps: number;
  threads: number;
  vocabSize: number;
}

const job = JSON.parse(process.argv[2]) as PointJob;
const bytes = await readFile(process.argv[3]);
const stream = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const { point } = job;

const plugins: Record<ScalePoint['architecture'], ArchitecturePlugin<any>> = {
  decoder,
  'prefix-lm': prefixLmArchitecture,
  'encoder-decoder': encoderDecoderArchitecture,
};
const backend = await createWasmBackend(undefined, { threads: job.threads });
const model = plugins[point.architecture].create(modelConfig(point.architecture, point.shape), { backend, vocabSize: job.vocabSize, rng: new Rng(c.seed) });
const optimizer = new AdamW(backend, model.params, { beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, clipNorm: c.clipNorm });
const schedule = { kind: 'constant' as const, maxLr: c.lr, minLr: c.lr, warmupSteps: 0, totalSteps: 1_000_000, decayFraction: 0 };
const trainer = new Trainer(backend, model, optimizer, scaleBatcher(stream, point), schedule);

const losses: number[] = [];
const stepSeconds: number[] = [];
for (let s = 0; s < job.warmupSteps + job.timedSteps; s++) {
  const t0 = performance.now();
  const r = await trainer.trainStep();
  const seconds = (performance.now() - t0) / 1000;
  losses.push(r.loss);
  if (s >= job.warmupSteps) stepSeconds.push(seconds);
  process.stderr.write(`  unilab step ${s + 1}: loss ${r.loss.toFixed(4)}, ${seconds.toFixed(3)} s\n`);
}
const result: ScaleSide = {
  tokensPerSecond: (point.batchSize * point.seqLen) / median(stepSeconds),
  stepSeconds,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  // WebAssembly memory only grows: its size now is the run's peak.
  wasmBytes: backend.kernels.memory.buffer.byteLength,
  losses,
  parameters: parameterCount(model.params),
};
backend.close();
console.log(JSON.stringify(result));
