/**
 * bench-sweep-sizing: training throughput of the paradigm sweep's model sizes on this machine, to size the default
 * sweep (experiments/paradigms.json) to its time budget.
 *
 *   npm run -s bench:sweep-sizing [-- --steps N]
 *
 * For each size: a decoder (clm) and an encoder-decoder (span corruption, 512 → 114-style rows at seqLen 128) on the
 * WASM backend, batch 8 × 128, on the bundled SOTU corpus prepared once. It times the steps after the first two
 * (warm-up) and reports parameters, tokens/s (rows × positions per second), achieved GFLOP/s from the runner's
 * FLOPs per step, and the 1-minute load average at start and end (the machine is shared: note it with the figures).
 */
import { loadavg, tmpdir } from 'node:os';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { ByteTokenizer } from '@unilab/data';
import { createBackend, createDefaultRegistry, parseTrainingSpec, prepareData, runTraining, type RunInfo } from '@unilab/runner';

const argv = process.argv.slice(2);
const at = argv.indexOf('--steps');
const steps = at >= 0 ? Number(argv[at + 1]) : 12;
if (!Number.isInteger(steps) || steps < 4) throw new Error(`--steps must be an integer >= 4, got ${argv[at + 1]}`);

const registry = createDefaultRegistry();
const data = await prepareData('sotu', 0.05, new ByteTokenizer());
const backend = await createBackend('wasm');
const sizes: [string, string, Record<string, unknown>, string][] = [
  ['d64 x4', 'decoder', { layers: 4, dModel: 64, heads: 4 }, 'clm'],
  ['d96 x4', 'decoder', { layers: 4, dModel: 96, heads: 4 }, 'clm'],
  ['d128 x4', 'decoder', { layers: 4, dModel: 128, heads: 4 }, 'clm'],
  ['d128 2+2', 'encoder-decoder', { encoderLayers: 2, decoderLayers: 2, dModel: 128, heads: 4 }, 'span-corruption'],
  ['d192 x4', 'decoder', { layers: 4, dModel: 192, heads: 4 }, 'clm'],
  ['d256 x6 (5M)', 'decoder', { layers: 6, dModel: 256, heads: 4 }, 'clm'],
];
const loadStart = loadavg()[0];
console.log(`sweep sizing: batch 8 x 128, ${steps} steps each (first 2 untimed), wasm backend; load average ${loadStart.toFixed(2)} at start`);
console.log('| model | architecture / objective | parameters | tokens/s | GFLOP/s |');
console.log('|---|---|---|---|---|');
for (const [name, architecture, config, objective] of sizes) {
  const spec = parseTrainingSpec({
    backend: 'wasm',
    data: { corpus: 'sotu' },
    model: { architecture, config },
    objective: { name: objective },
    train: { steps, batchSize: 8, seqLen: 128, warmupSteps: 1, evalEvery: 0, evalBatches: 1, checkpointEvery: 0 },
    samplePrompts: [],
  });
  let info: RunInfo | undefined;
  const times: number[] = [];
  let tokens = 0;
  const result = await runTraining({
    spec,
    outDir: await mkdtemp(join(tmpdir(), 'unilab-bench-sizing-')),
    registry,
    data,
    backend,
    onEvent: (e) => {
      if (e.type === 'start') info = e;
      if (e.type !== 'step') return;
      times.push(performance.now());
      if (e.step > 2) tokens += e.tokens;
    },
  });
  result.dispose();
  const seconds = (times[times.length - 1] - times[1]) / 1000;
  const flops = info!.flopsPerStep! * (times.length - 2);
  console.log(`| ${name} | ${architecture} / ${objective} | ${(info!.parameters / 1e6).toFixed(3)}M | ${Math.round(tokens / seconds)} | ${(flops / seconds / 1e9).toFixed(2)} |`);
}
console.log(`load average ${loadavg()[0].toFixed(2)} at end`);
