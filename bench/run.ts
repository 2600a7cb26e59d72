/**
 * `npm run bench`: bench-small on unilab and on the PyTorch reference side by side in one run, then bench-kernels
 * (../../shared/BENCH.md).
 *
 *   npm run bench [-- --rounds N] [--steps N] [--no-kernels] [--no-profile] [--slow-reference] [--compare-unfused] [--no-reference]
 *
 * The two sides run one after the other (never at once: they would share the two cores), in alternating rounds
 * (pytorch, unilab, pytorch, unilab, ...) so that a burst of load from other processes does not land on one side
 * only; each side's figure is the median over all its timed steps. Each side runs in its own process, so its peak
 * RSS is its own. The reference needs Debian's python3-torch and libopenblas0-pthread
 * (`apt-get install -y python3-torch libopenblas0-pthread`). Before it runs, bench/reference-check.ts prints the
 * machine and probes the reference (its BLAS, threads, sgemm GFLOP/s) under each OpenBLAS core type the CPU allows,
 * keeps the best, and refuses the ratio when the reference is not what BENCH.md compares against; a reference that
 * crashes is reported and the unilab side still runs.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchSmall, median, type SideResult } from './config.ts';
import { benchTokens } from './data.ts';
import { applyEnv, benchEnvironment, checkReference, MIN_REFERENCE_GFLOPS, ratioOrRefusal, type ReferenceCheck } from './reference-check.ts';

const argv = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const rounds = option('--rounds', 2);
const config = { ...benchSmall, timedSteps: option('--steps', benchSmall.timedSteps) };
const root = fileURLToPath(new URL('..', import.meta.url));
const python = '/usr/bin/python3';

/** Run a command, stream its stderr (progress) through, return its last stdout line (or all of stdout). */
function run(cmd: string, args: string[], env: Record<string, string | undefined> = {}, all = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env: applyEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => process.stderr.write(d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} ${signal ? `killed by ${signal}` : `exited with ${code}`}`));
      else resolve(all ? out.trimEnd() : (out.trim().split('\n').pop() ?? ''));
    });
  });
}

async function torchAvailable(): Promise<boolean> {
  if (!existsSync(python)) return false;
  try {
    await run(python, ['-c', 'import torch, numpy']);
    return true;
  } catch {
    return false;
  }
}

const tsx = ['--conditions=development'];
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

const machine = benchEnvironment({ threads: config.threads });
const { path: tokensPath, tokens } = await benchTokens(config.vocabSize);
const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
console.log(`bench-small (${date} UTC): ${config.layers} layers, d ${config.dModel}, ${config.heads} heads, SwiGLU ${config.ffnHidden}, RoPE, vocab ${config.vocabSize} (BPE on SOTU, ${tokens.length} tokens), seq ${config.seqLen}, batch ${config.batchSize}, AdamW, clip ${config.clipNorm}, fp32, ${config.threads} threads`);
console.log(`median of ${config.timedSteps} timed steps after ${config.warmupSteps} warm-up, ${rounds} alternating round(s) per side\n`);

let reference: ReferenceCheck | undefined;
// --no-reference: unilab alone (e.g. for --compare-unfused, whose ratio is between two unilab sides).
if (argv.includes('--no-reference')) console.log('PyTorch reference not run (--no-reference)');
else if (await torchAvailable()) reference = await checkReference(config.threads, python);
else console.log(`PyTorch reference skipped: ${python} cannot import torch (apt-get install -y python3-torch libopenblas0-pthread)`);
console.log('');
let haveTorch = reference?.available ?? false;
// A reference under the GFLOP/s floor (the reference BLAS: ~50x slower) would take many minutes for a figure that
// prints no ratio; it runs only when asked for.
if (haveTorch && reference!.probe!.gflops < MIN_REFERENCE_GFLOPS && !argv.includes('--slow-reference')) {
  console.log(`PyTorch side not run: its sgemm is under ${MIN_REFERENCE_GFLOPS} GFLOP/s (pass --slow-reference to time it anyway)\n`);
  haveTorch = false;
}
let torchCrashed: string | undefined;
const results: Record<string, SideResult[]> = { pytorch: [], unilab: [], unfused: [] };
// --compare-unfused: a third side, unilab with the fused matmuls off (the "before" of kernels-rs/src/fused.rs).
const compareUnfused = argv.includes('--compare-unfused');
const wantProfile = !argv.includes('--no-profile');
for (let r = 0; r < rounds; r++) {
  const last = r === rounds - 1;
  if (haveTorch) {
    const args = ['bench/pytorch_bench_small.py', JSON.stringify(config), tokensPath, ...(last && wantProfile ? ['--profile'] : [])];
    try {
      results.pytorch.push(JSON.parse(await run(python, args, reference!.env)));
    } catch (e) {
      // Reported, not fatal: the unilab side still runs and prints its own figures.
      torchCrashed = (e as Error).message;
      console.log(`PyTorch reference failed in round ${r + 1}: ${torchCrashed}; continuing with unilab only`);
      haveTorch = false;
      results.pytorch = [];
    }
  }
  const unilabSide = () => run('npx', ['tsx', ...tsx, 'bench/unilab-bench-small.ts', tokensPath]);
  const unfusedSide = () => run('npx', ['tsx', ...tsx, 'bench/unilab-bench-small.ts', tokensPath, '--unfused']);
  // The two unilab sides swap order every round, so neither always follows PyTorch.
  if (compareUnfused && r % 2 === 0) results.unfused.push(JSON.parse(await unfusedSide()));
  results.unilab.push(JSON.parse(await unilabSide()));
  if (compareUnfused && r % 2 === 1) results.unfused.push(JSON.parse(await unfusedSide()));
}

function summary(side: SideResult[]) {
  const steps = side.flatMap((s) => s.stepSeconds);
  const med = median(steps);
  return {
    med,
    tokensPerSecond: (config.batchSize * config.seqLen) / med,
    rss: Math.max(...side.map((s) => s.peakRssBytes)),
    loss: side[0].losses[side[0].losses.length - 1],
    detail: side[0].detail ?? '',
    perRound: side.map((s) => s.tokensPerSecond.toFixed(0)).join(', '),
  };
}

const u = summary(results.unilab);
const p = haveTorch ? summary(results.pytorch) : undefined;
const uf = compareUnfused ? summary(results.unfused) : undefined;
console.log('| side | tokens/s (median) | per round | median step | peak RSS | loss after ' + (config.warmupSteps + config.timedSteps) + ' steps | |');
console.log('|---|---:|---|---:|---:|---:|---|');
for (const [name, s] of [['PyTorch', p], ['unilab', u], ['unilab, fused matmuls off', uf]] as const)
  if (s) console.log(`| ${name} | ${s.tokensPerSecond.toFixed(0)} | ${s.perRound} | ${(s.med * 1000).toFixed(0)} ms | ${mib(s.rss)} | ${s.loss.toFixed(4)} | ${s.detail} |`);
console.log(`\n${ratioOrRefusal(reference, () => `unilab / PyTorch: tokens/s ${(u.tokensPerSecond / p!.tokensPerSecond).toFixed(2)}×, peak RSS ${(u.rss / p!.rss).toFixed(2)}×`, torchCrashed)}`);
if (uf)
  console.log(
    `unilab fused / unfused: tokens/s ${(u.tokensPerSecond / uf.tokensPerSecond).toFixed(3)}×, peak RSS ${(u.rss / uf.rss).toFixed(3)}×; losses ${u.loss === uf.loss ? 'identical' : `differ (${u.loss} vs ${uf.loss})`}`,
  );
console.log('TF.js: not run here (BENCH.md measured TF.js 4.22, WASM backend, on this model: about 37 tokens/s).');

function printProfile(title: string, profile: Record<string, number> | undefined, total: number) {
  if (!profile) return;
  console.log(`\n${title}`);
  const rows = Object.entries(profile).filter(([k]) => k !== 'step').sort((a, b) => b[1] - a[1]);
  const accounted = rows.reduce((s, [, v]) => s + v, 0);
  for (const [k, v] of rows.slice(0, 16)) console.log(`  ${k.padEnd(28)} ${(v * 1000).toFixed(1).padStart(8)} ms  ${((100 * v) / total).toFixed(1).padStart(5)}%`);
  console.log(`  ${'(outside the ops)'.padEnd(28)} ${((total - accounted) * 1000).toFixed(1).padStart(8)} ms  ${((100 * (total - accounted)) / total).toFixed(1).padStart(5)}%`);
}
const uProfile = results.unilab[results.unilab.length - 1].profile;
if (wantProfile) printProfile(`unilab: one step (${((uProfile?.step ?? 0) * 1000).toFixed(0)} ms), time per backend op`, uProfile, uProfile?.step ?? 1);
const pProfile = results.pytorch[results.pytorch.length - 1]?.profile;
if (wantProfile && pProfile) {
  const total = Object.values(pProfile).reduce((a, b) => a + b, 0);
  printProfile('PyTorch: one profiled step, self CPU time of the top ops (profiler overhead included)', pProfile, total);
}

if (!argv.includes('--no-kernels')) {
  console.log('\nbench-kernels');
  console.log(await run('npx', ['tsx', ...tsx, 'bench/bench-kernels.ts'], {}, true).catch((e: Error) => e.message));
}
machine.printLoadAfter();
