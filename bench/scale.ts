/**
 * `npm run bench:scale`: training tokens/s and peak memory of the LLaMA decoder at ~1M, 5M, 20M and 50M parameters,
 * of the 5M decoder at sequence lengths 128 to 2,048, and of the prefix LM and the encoder-decoder at the 5M
 * decoder's parameters, on unilab and on the PyTorch eager reference of the same model, side by side in one run.
 *
 *   npm run bench:scale [-- --quick] [--warmup N] [--steps N] [--only KEY,...] [--write-docs] [--slow-reference]
 *
 * The grid is bench/scale-grid.ts's: every point trains 2,048 input positions a step (batch = 2048 / T), so a longer
 * sequence changes only attention's share of the work. Each side of each point runs in its own process, one after
 * the other (never at once: they would share the two cores), the side that goes first alternating from point to
 * point; the figure is the median of the timed steps after the warm-up. Peak memory is per process: the unilab
 * child's peak RSS and its WebAssembly memory, PyTorch's ru_maxrss. Before anything runs, the environment is printed
 * and the reference checked (bench/reference-check.ts); no ratio is printed against a reference that fails the check.
 * At the end: the table, whether attention memory stayed linear in sequence length (a least-squares slope of peak
 * memory against T, scale-report.ts), the ratio against the issue's goal, and with --write-docs the table and the
 * SVG into docs/PERFORMANCE.md and docs/bench-scale.svg.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchSmall } from './config.ts';
import { benchTokens } from './data.ts';
import { applyEnv, benchEnvironment, checkReference, MIN_REFERENCE_GFLOPS, REFERENCE_PYTHON, type ReferenceCheck } from './reference-check.ts';
import { SCALE_VOCAB, TOKENS_PER_STEP, pointKey, scaleGrid, type ScalePoint } from './scale-grid.ts';
import { attentionMemoryVerdict, goalFor, replaceMarked, scalePlot, scaleTable, speedRatio, type ScaleResult, type ScaleSide } from './scale-report.ts';
import type { PointJob } from './unilab-scale-point.ts';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const option = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer, got ${argv[i + 1]}`);
  return v;
};
const warmupSteps = option('--warmup', 1);
const timedSteps = option('--steps', quick ? 2 : 3);
if (timedSteps < 1) throw new Error('--steps must be at least 1');
const threads = benchSmall.threads;
const root = fileURLToPath(new URL('..', import.meta.url));

/** Run a child, stream its stderr through, return its last stdout line parsed as JSON; throws with the exit. */
function runSide(cmd: string, args: string[], env: Record<string, string | undefined> = {}): Promise<ScaleSide> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env: applyEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err = (err + d).slice(-2000);
      process.stderr.write(d);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`${signal ? `killed by ${signal}` : `exited with ${code}`}: ${err.trim().split('\n').pop() ?? ''}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? ''));
      } catch {
        reject(new Error(`printed no result JSON: ${out.slice(-200)}`));
      }
    });
  });
}

const machine = benchEnvironment({ threads });
const { path: tokensPath, tokens } = await benchTokens(SCALE_VOCAB);
// --only a,b: just the points whose key (architecture/label/seqLen, e.g. decoder/50M/256) contains one of them.
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : undefined;
const grid = scaleGrid({ quick }).filter((p) => !only || only.some((o) => pointKey(p).includes(o)));
if (grid.length === 0) throw new Error(`--only ${only} matches no point of the grid`);
const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
console.log(
  `bench-scale (${date} UTC${quick ? ', --quick' : ''}): ${grid.length} points, LLaMA blocks (pre-RMSNorm, SwiGLU, RoPE, untied head), vocab ${SCALE_VOCAB} (BPE on SOTU, ${tokens.length} tokens), ${TOKENS_PER_STEP} tokens a step, AdamW, clip ${benchSmall.clipNorm}, fp32, ${threads} threads`,
);
console.log(`each side: median of ${timedSteps} timed steps after ${warmupSteps} warm-up, in its own process\n`);

const reference: ReferenceCheck = await checkReference(threads, REFERENCE_PYTHON);
let runTorch = reference.available;
if (runTorch && reference.probe!.gflops < MIN_REFERENCE_GFLOPS && !argv.includes('--slow-reference')) {
  console.log(`PyTorch side not run: its sgemm is under ${MIN_REFERENCE_GFLOPS} GFLOP/s (pass --slow-reference to time it anyway)`);
  runTorch = false;
}
const ratioAllowed = reference.verdict.ratioAllowed;
console.log('');

const describe = (p: ScalePoint) =>
  `${p.architecture} ${p.shape.label} (${(p.parameters / 1e6).toFixed(2)}M), seq ${p.seqLen} x batch ${p.batchSize}`;
const results: ScaleResult[] = [];
for (const [i, point] of grid.entries()) {
  const job: PointJob = { point, warmupSteps, timedSteps, threads, vocabSize: SCALE_VOCAB };
  const result: ScaleResult = { point };
  console.log(`[${i + 1}/${grid.length}] ${describe(point)}`);
  const torch = async () => {
    if (!runTorch) return;
    try {
      result.pytorch = await runSide(REFERENCE_PYTHON, ['bench/pytorch_scale_point.py', JSON.stringify(job), JSON.stringify(benchSmall), tokensPath], reference!.env);
    } catch (e) {
      // Reported, not fatal: the unilab side still runs (a 50M model can run out of memory on a small machine).
      result.pytorchError = (e as Error).message;
      console.log(`  PyTorch failed: ${result.pytorchError}`);
    }
  };
  const unilab = async () => {
    try {
      result.unilab = await runSide('npx', ['tsx', '--conditions=development', 'bench/unilab-scale-point.ts', JSON.stringify(job), tokensPath]);
    } catch (e) {
      result.unilabError = (e as Error).message;
      console.log(`  unilab failed: ${result.unilabError}`);
    }
  };
  // Alternate which side goes first, so a burst of load from other processes does not always land on one side.
  if (i % 2 === 0) {
    await torch();
    await unilab();
  } else {
    await unilab();
    await torch();
  }
  const ratio = speedRatio(result, ratioAllowed);
  // The losses show both sides train the same model on the same windows (they start near ln(vocab) and agree).
  const tps = (s?: ScaleSide) => (s ? `${s.tokensPerSecond.toFixed(0)} tokens/s (loss ${s.losses[0].toFixed(3)} → ${s.losses[s.losses.length - 1].toFixed(3)})` : 'no figure');
  console.log(`  PyTorch ${tps(result.pytorch)}, unilab ${tps(result.unilab)}${ratio === undefined ? '' : `: ${ratio.toFixed(2)}×`}\n`);
  if (result.unilab && result.pytorch && result.unilab.parameters !== result.pytorch.parameters)
    console.log(`  the two models differ: unilab ${result.unilab.parameters} parameters, PyTorch ${result.pytorch.parameters}`);
  results.push(result);
}

const table = scaleTable(results, ratioAllowed);
console.log(table);
if (!ratioAllowed)
  console.log(`\nno ratio: the reference is not the one BENCH.md compares against:\n${reference.verdict.reasons.map((r) => `  - ${r}`).join('\n')}`);

// Attention memory against sequence length, at a fixed number of tokens a step.
const lengths = results.filter((r) => r.point.series.includes('sequence')).sort((a, b) => a.point.seqLen - b.point.seqLen);
const memoryLines: string[] = [];
const fit = (label: string, pick: (r: ScaleResult) => number | undefined) => {
  const rows = lengths.filter((r) => pick(r) !== undefined);
  if (rows.length < 2) return;
  const v = attentionMemoryVerdict(
    rows.map((r) => r.point.seqLen),
    rows.map((r) => pick(r)!),
    rows[0].point.shape,
  );
  memoryLines.push(
    `${label}: slope ${(v.slopeBytesPerPosition / 1024).toFixed(1)} KiB per unit of T (R² ${v.r2.toFixed(2)}); one T×T score matrix per layer would add ${(v.scoreMatrixBytesPerPosition / 1024).toFixed(0)} KiB: ${v.linear ? 'linear in T (no T×T matrix kept)' : 'grows with T² per row (score matrices kept)'}`,
  );
};
fit('unilab WASM memory', (r) => r.unilab?.wasmBytes);
fit('unilab peak RSS', (r) => r.unilab?.peakRssBytes);
fit('PyTorch peak RSS', (r) => r.pytorch?.peakRssBytes);
if (memoryLines.length > 0) {
  console.log(`\nattention memory against sequence length (5M decoder, ${TOKENS_PER_STEP} tokens a step, so memory linear in T per row is flat here):`);
  for (const l of memoryLines) console.log(`  ${l}`);
}

const goals = results.flatMap((r) => {
  const ratio = speedRatio(r, ratioAllowed);
  return ratio === undefined || ratio >= goalFor(r.point) ? [] : [`${describe(r.point)}: ${ratio.toFixed(2)}× (goal ${goalFor(r.point).toFixed(1)}×)`];
});
if (ratioAllowed && results.some((r) => speedRatio(r, true) !== undefined))
  console.log(goals.length === 0 ? '\ngoal met at every point (≥ 1.0×, ≥ 1.3× at 1,024 and longer)' : `\ngoal not met at:\n${goals.map((g) => `  - ${g}`).join('\n')}`);

if (argv.includes('--write-docs')) {
  const svgPath = `${root}docs/bench-scale.svg`;
  writeFileSync(svgPath, scalePlot(results, `${date} UTC`));
  const docPath = `${root}docs/PERFORMANCE.md`;
  const body = [
    `Measured ${date} UTC with \`npm run bench:scale${quick ? ' -- --quick' : ''}\` (${timedSteps} timed steps after ${warmupSteps} warm-up a side and point).`,
    '',
    '```',
    ...machine.lines,
    ...reference.lines,
    '```',
    '',
    table,
    '',
    ...memoryLines.map((l) => `- ${l}`),
    '',
    '![bench-scale: tokens/s and peak memory](bench-scale.svg)',
  ].join('\n');
  writeFileSync(docPath, replaceMarked(readFileSync(docPath, 'utf8'), 'bench-scale', body));
  console.log(`\nwrote ${svgPath} and the bench-scale section of ${docPath}`);
}
machine.printLoadAfter();
