/**
 * The unilab side of bench-small, run by bench/run.ts in its own process (so its peak RSS is its own):
 *   tsx --conditions=development bench/unilab-bench-small.ts <tokens.i32> [--unfused]
 * Prints one JSON line (SideResult) last.
 */
import { readFile } from 'node:fs/promises';
import { AdamW, Rng, Trainer, createWasmBackend, parameterCount, type Backend } from '@unilab/core';
import { decoder } from '@unilab/plugins-arch';
import { benchSmall as c, median, type SideResult } from './config.ts';
import { streamBatcher } from './data.ts';
import { profiled } from './profile.ts';

const bytes = await readFile(process.argv[2]);
const stream = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);

const wasm = await createWasmBackend(undefined, { threads: c.threads });
// --unfused: the backend without the fused matmuls (kernels-rs/src/fused.rs), so the block composes matmul, add and
// swiglu as before them: the "before" of `npm run bench -- --compare-unfused`, the same bits.
const unfused = process.argv.includes('--unfused');
const inner: Backend = unfused
  ? new Proxy(wasm, { get: (t, k, r) => (k === 'matmulAdd' || k === 'swigluProjection' ? undefined : Reflect.get(t, k, r)) })
  : wasm;
const { backend, take } = profiled(inner);
const config = decoder.configSchema.parse(
  { layers: c.layers, dModel: c.dModel, heads: c.heads, ffnHidden: c.ffnHidden, normEps: c.normEps, ropeBase: c.ropeBase },
  'bench',
);
const model = decoder.create(config, { backend, vocabSize: c.vocabSize, rng: new Rng(c.seed) });
const optimizer = new AdamW(backend, model.params, { beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, clipNorm: c.clipNorm });
const schedule = { kind: 'constant' as const, maxLr: c.lr, minLr: c.lr, warmupSteps: 0, totalSteps: 1_000_000, decayFraction: 0 };
const trainer = new Trainer(backend, model, optimizer, streamBatcher(stream, c), schedule);

const losses: number[] = [];
const stepSeconds: number[] = [];
let profile: Record<string, number> = {};
for (let s = 0; s < c.warmupSteps + c.timedSteps; s++) {
  take();
  const t0 = performance.now();
  const r = await trainer.trainStep();
  const seconds = (performance.now() - t0) / 1000;
  const ops = take();
  losses.push(r.loss);
  if (s >= c.warmupSteps) {
    stepSeconds.push(seconds);
    // Keep the op times of the step closest to the median so far: a typical step.
    if (Math.abs(seconds - median(stepSeconds)) <= Math.abs((profile.step ?? Infinity) - median(stepSeconds))) profile = { ...ops, step: seconds };
  }
  process.stderr.write(`unilab step ${s + 1}: loss ${r.loss.toFixed(4)}, ${seconds.toFixed(3)} s\n`);
}
const med = median(stepSeconds);
const result: SideResult = {
  name: unfused ? 'unilab-unfused' : 'unilab',
  stepSeconds,
  medianSeconds: med,
  tokensPerSecond: (c.batchSize * c.seqLen) / med,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  losses,
  parameters: parameterCount(model.params),
  profile,
  detail: `WASM ${wasm.kernels.variant}, ${wasm.threads} threads, Node ${process.versions.node}${unfused ? ', fused matmuls off' : ''}`,
};
wasm.close();
console.log(JSON.stringify(result));
