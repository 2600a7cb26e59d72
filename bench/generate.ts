/**
 * `npm run bench:generate`: tokens/s of greedy generation on bench-small (../../shared/BENCH.md; a 64-token prompt,
 * 256 new tokens) with unilab's key/value cache, without it (the whole row re-run for every token), and PyTorch 1.13
 * with a key/value cache on the same weights, side by side in one run.
 *
 *   npm run bench:generate [-- --train-steps 30] [--new-tokens 256]
 *
 * The weights are bench-small trained here for a few steps on the bench's SOTU tokens (random weights would make
 * greedy decoding a tie-break of near-equal logits), then written to a temporary file that the PyTorch side loads
 * (bench/torch_generate.py). Before any time is taken: unilab's cached and uncached tokens must be identical, and
 * PyTorch's greedy tokens must equal unilab's. Generation runs in the model's 256-token context: prompt + 256 new
 * tokens overflow it once, and both sides move the window the same way (libs/runner/src/inference/context-window.ts).
 * The machine and the reference are checked first by bench/reference-check.ts (shared with `npm run bench`): the BLAS
 * PyTorch's sgemm comes from, its threads and its matmul GFLOP/s (printed beside unilab's own), under the OpenBLAS
 * core type chosen for this CPU; a ratio against a slow or unexpected reference is refused, and a reference that
 * crashes is reported while unilab's figures still print.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdamW, Rng, Trainer, createWasmBackend, type ContinuationLayout } from '@unilab/core';
import { decoder } from '@unilab/plugins-arch';
import { ContextWindow, cachedLogits, fullForwardLogits, type NextTokenLogits, type Presented } from '@unilab/runner';
import { benchSmall, median } from './config.ts';
import { benchTokens, streamBatcher } from './data.ts';
import { applyEnv, benchEnvironment, checkReference, describeProbe, ratioOrRefusal, type ReferenceCheck } from './reference-check.ts';

const argv = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const c = benchSmall;
const trainSteps = option('--train-steps', 30);
const newTokens = option('--new-tokens', 256);
const promptLength = 64;
const root = fileURLToPath(new URL('..', import.meta.url));
const python = '/usr/bin/python3';

function run(cmd: string, args: string[], env: Record<string, string | undefined> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env: applyEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      code === 0 ? resolve(out.trim().split('\n').pop() ?? '') : reject(new Error(`${cmd} ${signal ? `killed by ${signal}` : `exited with ${code}`}: ${err.trim().slice(-600)}`)),
    );
  });
}

const machine = benchEnvironment({ threads: c.threads });
// Probed before anything of this bench runs, so that the probe has the machine to itself.
const reference: ReferenceCheck | undefined = existsSync(python) ? await checkReference(c.threads, python) : undefined;

const { tokens: stream } = await benchTokens(c.vocabSize);
// The prompt: 64 tokens from the last State of the Union address (the training windows start at the stream's head).
const promptStart = stream.length - 4096;
const prompt = Array.from(stream.subarray(promptStart, promptStart + promptLength));

// ---- bench-small, briefly trained ----
const backend = await createWasmBackend(undefined, { threads: c.threads });
const config = decoder.configSchema.parse({ layers: c.layers, dModel: c.dModel, heads: c.heads, ffnHidden: c.ffnHidden, normEps: c.normEps, ropeBase: c.ropeBase }, 'bench');
const model = decoder.create(config, { backend, vocabSize: c.vocabSize, rng: new Rng(c.seed) });
const trainShape = { batchSize: 4, seqLen: c.seqLen };
const optimizer = new AdamW(backend, model.params, { beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, clipNorm: c.clipNorm });
const schedule = { kind: 'constant' as const, maxLr: 3e-3, minLr: 3e-3, warmupSteps: 0, totalSteps: 1_000_000, decayFraction: 0 };
const trainer = new Trainer(backend, model, optimizer, streamBatcher(stream, trainShape), schedule);
let loss = NaN;
for (let s = 0; s < trainSteps; s++) {
  loss = (await trainer.trainStep()).loss;
  process.stderr.write(`\rtraining bench-small for the generation benchmark: step ${s + 1}/${trainSteps}, loss ${loss.toFixed(3)}`);
}
process.stderr.write('\n');

// ---- the same weights for PyTorch ----
const weightsDir = join(tmpdir(), `unilab-bench-generate-${process.pid}`);
await mkdir(weightsDir, { recursive: true });
const values = await Promise.all(model.params.map((p) => backend.read(p.value)));
const flat = new Float32Array(values.reduce((n, v) => n + v.length, 0));
values.reduce((at, v) => (flat.set(v, at), at + v.length), 0);
await writeFile(join(weightsDir, 'weights.f32'), new Uint8Array(flat.buffer));
await writeFile(join(weightsDir, 'manifest.json'), JSON.stringify({ params: model.params.map((p) => ({ name: p.name, shape: p.value.shape })) }));

// ---- unilab: greedy decoding through generation's window, with and without the cache ----
/** A causal LM's prompt layout (clm's declaration): the text, continued left to right. */
const continuation: Presented<ContinuationLayout> = { layout: { kind: 'causal' }, objective: 'clm', ids: {} };

async function greedy(next: NextTokenLogits, steps = newTokens) {
  const window = new ContextWindow(continuation, prompt, c.seqLen);
  const seconds: number[] = [];
  for (let n = 0; n < steps; n++) {
    const t0 = performance.now();
    const logits = await next.logits(window.row());
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    seconds.push((performance.now() - t0) / 1000);
    window.push(best);
  }
  next.dispose();
  const total = seconds.reduce((a, b) => a + b, 0);
  return { tokens: window.generated(), total, tokensPerSecond: steps / total, first: seconds[0], medianStep: median(seconds.slice(1)), counts: next.counts };
}

/** unilab's own sgemm at 512³ now, beside the reference's probe: on a shared machine both fall with the load. */
function matmulProbe(): number {
  const a = backend.fromArray(new Float32Array(512 * 512).fill(0.5), [512, 512]);
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    backend.dispose(backend.matmul(a, a));
    times.push((performance.now() - t0) / 1000);
  }
  backend.dispose(a);
  return (2 * 512 ** 3) / median(times) / 1e9;
}
const unilabGflops = matmulProbe();

// Warm-up (kernels' first calls, scratch memory), untimed.
await greedy(cachedLogits(model, backend, c.seqLen)!, 8);
const cached = await greedy(cachedLogits(model, backend, c.seqLen)!);
process.stderr.write(`unilab with the cache: ${cached.tokensPerSecond.toFixed(1)} tokens/s\n`);
const uncached = await greedy(fullForwardLogits(model, backend));
process.stderr.write(`unilab without the cache: ${uncached.tokensPerSecond.toFixed(1)} tokens/s\n`);
const cacheAgrees = cached.tokens.every((t, i) => t === uncached.tokens[i]);

// ---- PyTorch ----
interface TorchResult {
  tokens: number[];
  matches: boolean;
  firstMismatch: number | null;
  tokensPerSecond: number;
  seconds: number;
  firstStepSeconds: number;
  medianStepSeconds: number;
}
let torch: TorchResult | undefined;
let torchSkipped = '';
let torchCrashed: string | undefined;
if (!reference?.available) torchSkipped = existsSync(python) ? 'its probe did not run (see above)' : `${python} not found`;
else
  try {
    torch = JSON.parse(await run(python, ['bench/torch_generate.py', JSON.stringify(c), weightsDir, JSON.stringify(prompt), JSON.stringify(cached.tokens)], reference.env)) as TorchResult;
  } catch (err) {
    // Reported, not fatal: unilab's figures still print.
    torchCrashed = (err as Error).message;
  }
await rm(weightsDir, { recursive: true, force: true });

// ---- report ----
console.log(`bench:generate (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC): greedy decoding on bench-small`);
console.log(
  `model: ${c.layers} layers, d ${c.dModel}, ${c.heads} heads, SwiGLU ${c.ffnHidden}, RoPE, vocab ${c.vocabSize} (BPE on SOTU), context ${c.seqLen}; ` +
    `trained ${trainSteps} steps here (batch ${trainShape.batchSize} × ${trainShape.seqLen}, lr 3e-3), loss ${loss.toFixed(3)}`,
);
console.log(
  `task: prompt ${promptLength} tokens, ${newTokens} new tokens, fp32, ${c.threads} threads; unilab's cache prefilled ${cached.counts.prefills} time(s) ` +
    '(the prompt, then the window each time it moved)',
);
console.log(`unilab: WASM backend, ${c.threads} threads, sgemm 512³ ${unilabGflops.toFixed(0)} GFLOP/s`);
if (reference?.probe) console.log(`reference: ${describeProbe(reference.probe)}`);
console.log('');
console.log(`unilab cached and uncached tokens: ${cacheAgrees ? `identical (${newTokens} of ${newTokens})` : 'DIFFER'}`);
if (torch) console.log(`PyTorch tokens vs unilab's: ${torch.matches ? `identical (${newTokens} of ${newTokens})` : `differ from step ${torch.firstMismatch}`}`);
console.log('');
console.log('| side | tokens/s | total | first step (prefill 64) | median step after it |');
console.log('|---|---:|---:|---:|---:|');
const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
const rows: [string, { tokensPerSecond: number; total: number; first: number; medianStep: number }][] = [
  ['unilab, key/value cache', cached],
  ['unilab, no cache (whole row per token)', uncached],
];
if (torch) rows.push(['PyTorch 1.13 eager, key/value cache', { tokensPerSecond: torch.tokensPerSecond, total: torch.seconds, first: torch.firstStepSeconds, medianStep: torch.medianStepSeconds }]);
for (const [name, r] of rows) console.log(`| ${name} | ${r.tokensPerSecond.toFixed(1)} | ${r.total.toFixed(2)} s | ${ms(r.first)} | ${ms(r.medianStep)} |`);
console.log('');
console.log(`cache speed-up (unilab): ${(cached.tokensPerSecond / uncached.tokensPerSecond).toFixed(1)}×`);
if (!torch && !torchCrashed) console.log(`PyTorch reference skipped: ${torchSkipped} (apt-get install -y python3-torch libopenblas0-pthread)`);
else if (torch && !(torch.matches && cacheAgrees)) console.log('no ratio: the sides did not produce the same tokens');
else console.log(ratioOrRefusal(reference, () => `unilab (cached) / PyTorch (cached): ${(cached.tokensPerSecond / torch!.tokensPerSecond).toFixed(2)}× tokens/s`, torchCrashed));
backend.close();
machine.printLoadAfter();
