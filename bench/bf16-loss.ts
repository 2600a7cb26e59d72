/**
 * `npm run bench:bf16`: what the opt-in mixed precision (`precision: "bf16-matmul"`, kernels-rs/src/matmul.rs) does
 * to training, and to speed. The same LLaMA decoders as bench-scale (bench/scale-grid.ts: 5M and 20M, sequence 256,
 * 2,048 tokens a step, vocabulary 8,192 BPE on SOTU) train from the same initial weights on the same batches with
 * bench-small's AdamW (lr 3e-4 constant, betas 0.9/0.95, weight decay 0.1, clip 1.0), once with f32 matmuls and once
 * with bf16 operands (f32 sums); the two runs alternate step by step in one process, so load from other processes
 * falls on both alike. The last 5% of the token stream is held out (training windows never reach it); held-out loss
 * is measured every `--eval-every` steps on 8 fixed windows, by each run in its own precision.
 *
 *   tsx --conditions=development bench/bf16-loss.ts [--steps 1M=300,5M=100,20M=10] [--eval-every 20]
 *                                                   [--threads 2] [--write-docs]
 *
 * `--steps` names the grid's decoders to train (bench/scale-grid.ts DECODER_SIZES) and the steps of each.
 *
 * Prints the environment, progress, then a Markdown table (train loss at the end, max/mean |Δ| over the curve,
 * held-out loss, tokens/s = median over steps after 3 warm-up steps). `--write-docs` writes the table into
 * docs/PERFORMANCE.md between `<!-- begin bench-bf16 -->` and `<!-- end bench-bf16 -->` and the curves to
 * docs/bench-bf16.svg.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { AdamW, Rng, Trainer, createWasmBackend, parameterCount, type Batch, type MatmulPrecision } from '@unilab/core';
import { decoder, type SingleStackConfig } from '@unilab/plugins-arch';
import { bf16Plot, bf16Table, type PrecisionRun, type SizeComparison } from './bf16-report.ts';
import { benchSmall as c, median } from './config.ts';
import { benchTokens } from './data.ts';
import { benchEnvironment } from './reference-check.ts';
import { scaleBatch, scaleBatcher } from './scale-batches.ts';
import { BASE_SEQ_LEN, DECODER_SIZES, SCALE_VOCAB, TOKENS_PER_STEP, modelConfig } from './scale-grid.ts';
import { replaceMarked } from './scale-report.ts';

const argv = process.argv.slice(2);
function option(name: string, fallback: number): number {
  const at = argv.indexOf(name);
  if (at < 0) return fallback;
  const v = Number(argv[at + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${argv[at + 1]}`);
  return v;
}
const evalEvery = option('--eval-every', 20);
const threads = option('--threads', 2);
const writeDocs = argv.includes('--write-docs');
const stepsArg = argv.includes('--steps') ? argv[argv.indexOf('--steps') + 1] : '1M=300,5M=100,20M=10';
const sizes = stepsArg.split(',').map((item) => {
  const [label, count] = item.split('=');
  const shape = DECODER_SIZES.find((d) => d.label === label);
  const steps = Number(count);
  if (!shape || !Number.isInteger(steps) || steps < 1)
    throw new Error(`--steps: "${item}" is not <size>=<steps> with a size of ${DECODER_SIZES.map((d) => d.label).join(', ')} and a positive step count`);
  return { shape, steps };
});
const WARMUP = 3;
const HELD_OUT_WINDOWS = 8;

const machine = benchEnvironment({ threads });
const { tokens } = await benchTokens(SCALE_VOCAB);
const trainEnd = Math.floor(tokens.length * 0.95);
const train = tokens.subarray(0, trainEnd);
const heldOutStream = tokens.subarray(trainEnd);
const seqLen = BASE_SEQ_LEN;
const batchSize = TOKENS_PER_STEP / seqLen;
const shapeOf = { architecture: 'decoder' as const, seqLen, batchSize, prefixLen: 0 };
// Held-out: 8 windows spread over the held-out tail (one batch of batchSize rows each time).
const heldOut: Batch[] = Array.from({ length: HELD_OUT_WINDOWS / batchSize }, (_, i) => scaleBatch(heldOutStream, shapeOf, i));
console.log(
  `bench-bf16: LLaMA decoders at seq ${seqLen}, ${TOKENS_PER_STEP} tokens a step, vocab ${SCALE_VOCAB} (BPE on SOTU: ${train.length} training tokens, ` +
    `${heldOutStream.length} held out), AdamW lr ${c.lr}, ${threads} threads; f32 and bf16-matmul alternate step by step`,
);

const comparisons: SizeComparison[] = [];
for (const { shape, steps: n } of sizes) {
  const runs = await Promise.all(
    (['f32', 'bf16-matmul'] as MatmulPrecision[]).map(async (precision) => {
      const backend = await createWasmBackend(undefined, { threads, precision });
      const model = decoder.create(modelConfig('decoder', shape) as SingleStackConfig, { backend, vocabSize: SCALE_VOCAB, rng: new Rng(c.seed) });
      const optimizer = new AdamW(backend, model.params, { beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, clipNorm: c.clipNorm });
      const schedule = { kind: 'constant' as const, maxLr: c.lr, minLr: c.lr, warmupSteps: 0, totalSteps: 1_000_000, decayFraction: 0 };
      const trainer = new Trainer(backend, model, optimizer, scaleBatcher(train, shapeOf), schedule);
      const run: PrecisionRun = { precision, losses: [], heldOut: [], tokensPerSecond: 0 };
      return { backend, trainer, run, seconds: [] as number[], parameters: parameterCount(model.params) };
    }),
  );
  for (let s = 1; s <= n; s++) {
    for (const r of runs) {
      const t0 = performance.now();
      const { loss } = await r.trainer.trainStep();
      r.seconds.push((performance.now() - t0) / 1000);
      r.run.losses.push(loss);
      if (s % evalEvery === 0 || s === n) r.run.heldOut.push([s, await r.trainer.evaluate(heldOut)]);
    }
    if (s % 10 === 0 || s === n)
      process.stderr.write(`  ${shape.label} step ${s}/${n}: loss ${runs.map((r) => `${r.run.precision} ${r.run.losses[s - 1].toFixed(4)} (${r.seconds[s - 1].toFixed(2)} s)`).join(', ')}\n`);
  }
  for (const r of runs) {
    r.run.tokensPerSecond = TOKENS_PER_STEP / median(r.seconds.slice(WARMUP));
    r.backend.close();
  }
  comparisons.push({ label: shape.label, parameters: runs[0].parameters, f32: runs[0].run, bf16: runs[1].run });
}

const table = bf16Table(comparisons);
console.log(table);
machine.printLoadAfter();
if (writeDocs) {
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const body = [
    `bench-bf16 (${date} UTC), \`npm run bench:bf16 -- ${argv.join(' ')}\`:`,
    '',
    ...machine.lines.map((l) => `- ${l}`),
    `- load average after (1/5/15 min): ${loadavg().map((l) => l.toFixed(2)).join(', ')}`,
    '',
    table,
  ].join('\n');
  const docPath = new URL('../docs/PERFORMANCE.md', import.meta.url);
  writeFileSync(docPath, replaceMarked(readFileSync(docPath, 'utf8'), 'bench-bf16', body));
  writeFileSync(new URL('../docs/bench-bf16.svg', import.meta.url), bf16Plot(comparisons, `${date} UTC`));
  console.log('wrote docs/PERFORMANCE.md (bench-bf16 block) and docs/bench-bf16.svg');
}
