/**
 * What a benchmark's figures stand on: the machine (CPU, threads, engine versions, load before and after) and, for a
 * comparison with PyTorch, the reference itself (../shared/BENCH.md): which BLAS PyTorch's sgemm really calls, on how
 * many threads, how fast, and under which OpenBLAS core type. A ratio against a reference that runs the reference
 * BLAS (~50x slower than OpenBLAS), fewer threads than asked, or an implausibly slow matmul is refused, with the reason
 * and the fix; a reference that crashes is reported and the unilab side still runs.
 *
 * OpenBLAS's core type is chosen from the CPU the bench runs on, never fixed: OpenBLAS 0.3.21 mis-detects some
 * AVX-512 Xeons (as Prescott: ~25 instead of ~125 GFLOP/s) while OPENBLAS_CORETYPE=SkylakeX kills the process with an
 * illegal instruction on an AVX2-only EPYC. So the candidates are the environment as the machine has it, the core
 * type the CPU flags allow, and (when the machine's environment sets one) none; each is probed in its own process by
 * bench/torch_probe.py and the fastest that runs OpenBLAS without crashing is kept. Tests and CI never change
 * OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE; only a benchmark's PyTorch process gets the chosen setting.
 *
 * The decisions (coreTypeForCpu, coreTypeCandidates, pickCandidate, judgeReference) are pure and unit-tested in
 * reference-check.test.ts; the rest runs processes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

/** What bench/torch_probe.py prints. */
export interface TorchProbe {
  torch: string;
  numpy: string;
  python: string;
  torchThreads: number;
  /** BLAS_INFO / LAPACK_INFO of torch.__config__.show(): what the build was configured against ("generic" on Debian). */
  buildBlas: Record<string, string>;
  /** The file PyTorch's own library binds sgemm_ to (resolved path), or null when it cannot be told. */
  sgemmFrom: string | null;
  libraries: { path: string; resolved: string }[];
  openblas: { library: string; corename: string; config: string; threads: number } | null;
  threadpools: { internal_api: string; filepath: string; version: string | null; num_threads: number; architecture: string | null }[] | null;
  /** sgemm 512^3 GFLOP/s on the asked threads, median of 10 after 3 warm-up. */
  gflops: number;
  env: Record<string, string>;
}

/** Environment changes for the reference's process: a string sets the variable, undefined removes it. */
export type EnvChange = Record<string, string | undefined>;

export interface CoreTypeCandidate {
  label: string;
  env: EnvChange;
}

export interface ProbeOutcome {
  candidate: CoreTypeCandidate;
  probe?: TorchProbe;
  /** Why the probe produced nothing: a crash (signal), an exit code, unparsable output. */
  error?: string;
}

export interface Verdict {
  ratioAllowed: boolean;
  reasons: string[];
}

export const INSTALL_OPENBLAS = 'apt-get install -y libopenblas0-pthread';
export const INSTALL_TORCH = 'apt-get install -y python3-torch libopenblas0-pthread';
/**
 * Below this, a 512^3 sgemm did not run on a working OpenBLAS: the reference BLAS manages ~2 GFLOP/s here, OpenBLAS
 * 25-125 on a quiet 2-core machine and rarely under 10 even with the machine shared by several processes.
 */
export const MIN_REFERENCE_GFLOPS = 5;

/** The BLAS family a library file belongs to, from its resolved path (Debian: .../openblas-pthread/, .../blas/). */
export function blasKind(file: string | null | undefined): 'openblas' | 'reference' | 'mkl' | 'blis' | 'unknown' {
  if (!file) return 'unknown';
  const f = file.toLowerCase();
  if (f.includes('openblas')) return 'openblas';
  if (f.includes('mkl')) return 'mkl';
  if (f.includes('blis')) return 'blis';
  if (/(^|\/)blas\/libblas\.so/.test(f) || /(^|\/)libblas\.so/.test(f)) return 'reference';
  return 'unknown';
}

/**
 * The OpenBLAS core type a CPU's /proc/cpuinfo flags allow: SkylakeX needs AVX-512 F, BW, DQ and VL (its kernels
 * use all four); Haswell needs AVX2 and FMA; otherwise none (OpenBLAS's own detection).
 */
export function coreTypeForCpu(flags: Iterable<string>): 'SkylakeX' | 'Haswell' | undefined {
  const has = new Set(flags);
  if (['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => has.has(f))) return 'SkylakeX';
  if (has.has('avx2') && has.has('fma')) return 'Haswell';
  return undefined;
}

/**
 * What to probe: the environment as the machine has it, the core type the flags allow (when it differs), and none at
 * all when the machine's environment sets one (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE go together).
 */
export function coreTypeCandidates(flags: Iterable<string>, env: Record<string, string | undefined>): CoreTypeCandidate[] {
  const current = env.OPENBLAS_CORETYPE;
  const out: CoreTypeCandidate[] = [
    { label: current ? `OPENBLAS_CORETYPE=${current} (as the machine has it)` : "OpenBLAS's own detection", env: {} },
  ];
  const fromFlags = coreTypeForCpu(flags);
  if (fromFlags && fromFlags !== current) out.push({ label: `OPENBLAS_CORETYPE=${fromFlags} (from the CPU flags)`, env: { OPENBLAS_CORETYPE: fromFlags, OPENBLAS_L2_SIZE: undefined } });
  if (current) out.push({ label: "OpenBLAS's own detection (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset)", env: { OPENBLAS_CORETYPE: undefined, OPENBLAS_L2_SIZE: undefined } });
  return out;
}

/** The fastest candidate whose probe ran and whose sgemm comes from OpenBLAS; else the first that ran at all. */
export function pickCandidate(outcomes: ProbeOutcome[]): ProbeOutcome | undefined {
  const ran = outcomes.filter((o) => o.probe);
  const openblas = ran.filter((o) => blasKind(o.probe!.sgemmFrom) === 'openblas');
  const pool = openblas.length > 0 ? openblas : ran;
  return pool.reduce<ProbeOutcome | undefined>((best, o) => (!best || o.probe!.gflops > best.probe!.gflops ? o : best), undefined);
}

/** Whether a ratio against this reference means anything, and if not, why (with the fix). */
export function judgeReference(probe: TorchProbe, threadsAsked: number, minGflops = MIN_REFERENCE_GFLOPS): Verdict {
  const reasons: string[] = [];
  const kind = blasKind(probe.sgemmFrom);
  if (kind === 'reference')
    reasons.push(`PyTorch's sgemm comes from the reference BLAS (${probe.sgemmFrom}), ~50x slower than OpenBLAS: ${INSTALL_OPENBLAS}`);
  else if (kind === 'unknown')
    reasons.push(`cannot tell which BLAS PyTorch's sgemm comes from (${probe.sgemmFrom ?? 'not found'}); BENCH.md's reference is OpenBLAS: ${INSTALL_OPENBLAS}`);
  else if (kind !== 'openblas') reasons.push(`PyTorch's sgemm comes from ${kind} (${probe.sgemmFrom}), not the OpenBLAS of BENCH.md's reference: ${INSTALL_OPENBLAS}`);
  if (probe.torchThreads < threadsAsked) reasons.push(`PyTorch runs ${probe.torchThreads} thread(s), ${threadsAsked} asked`);
  if (kind === 'openblas' && probe.openblas && probe.openblas.threads < threadsAsked)
    reasons.push(`OpenBLAS runs ${probe.openblas.threads} thread(s), ${threadsAsked} asked (unset OPENBLAS_NUM_THREADS / OMP_NUM_THREADS for the bench)`);
  if (!(probe.gflops >= minGflops))
    reasons.push(`its sgemm 512^3 reaches ${probe.gflops.toFixed(1)} GFLOP/s, under the ${minGflops} GFLOP/s that any working OpenBLAS beats (a slow BLAS, or a machine too loaded to measure)`);
  return { ratioAllowed: reasons.length === 0, reasons };
}

/** CPU model, logical CPUs, physical cores and the flags that matter, from /proc/cpuinfo's text. */
export function parseCpuinfo(text: string): { model: string; logical: number; cores: number; flags: string[] } {
  const blocks = text.split(/\n\s*\n/).filter((b) => /^processor\s*:/m.test(b));
  const field = (b: string, name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(b)?.[1]?.trim();
  const cores = new Set(blocks.map((b) => `${field(b, 'physical id') ?? 0}/${field(b, 'core id') ?? field(b, 'processor')}`));
  return {
    model: (blocks[0] && field(blocks[0], 'model name')) ?? 'unknown',
    logical: blocks.length,
    cores: cores.size,
    flags: ((blocks[0] && field(blocks[0], 'flags')) ?? '').split(/\s+/).filter(Boolean),
  };
}

const root = fileURLToPath(new URL('..', import.meta.url));
export const REFERENCE_PYTHON = '/usr/bin/python3';

function cpuinfo() {
  try {
    return parseCpuinfo(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return { model: cpus()[0]?.model ?? 'unknown', logical: cpus().length, cores: cpus().length, flags: [] };
  }
}

/** The process environment with `change` applied (undefined removes a variable). */
export function applyEnv(change: EnvChange, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const [k, v] of Object.entries(change)) if (v === undefined) delete env[k];
  else env[k] = v;
  return env;
}

export function describeEnvChange(change: EnvChange, base: NodeJS.ProcessEnv = process.env): string {
  const parts = Object.entries(change)
    .filter(([k, v]) => v !== undefined || k in base)
    .map(([k, v]) => (v === undefined ? `-u ${k}` : `${k}=${v}`));
  return parts.length ? `env ${parts.join(' ')}` : 'the environment unchanged';
}

/** A child's end as words: "killed by SIGILL (illegal instruction)", "exited with 1". */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `killed by ${signal}${signal === 'SIGILL' ? ' (illegal instruction: a core type this CPU lacks)' : ''}`;
  return `exited with ${code}`;
}

function firstLine(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? r.stdout.trim().split('\n')[0] : undefined;
}

export interface BenchEnvironment {
  lines: string[];
  /** Prints "load average after: ..." (call at the end of the benchmark). */
  printLoadAfter(): void;
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(', ');

/**
 * The environment header every benchmark prints first: CPU model and flags, cores and threads, Node and Deno
 * versions, the benchmark's thread count, and the load average (1/5/15 min) before; the load after comes from
 * printLoadAfter(). A load above the core count means other processes shared the CPU: figures then compare only
 * side by side within the run.
 */
export function benchEnvironment(opts: { threads?: number; deno?: boolean } = {}): BenchEnvironment {
  const cpu = cpuinfo();
  const simd = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl'].filter((f) => cpu.flags.includes(f));
  const deno = opts.deno === false ? undefined : firstLine(`${root}node_modules/.bin/deno`, ['--version']);
  const before = loadavg()[0];
  const lines = [
    `machine: ${cpu.model} (${simd.join(' ') || 'no AVX2'}), ${cpu.cores} core(s), ${cpu.logical} logical CPU(s)${opts.threads ? `; bench threads ${opts.threads}` : ''}`,
    `engines: Node ${process.versions.node}${deno ? `, ${deno}` : ''}`,
    `load average before (1/5/15 min): ${load()}${loadavg()[0] > cpu.logical ? ` (above ${cpu.logical} CPUs: other processes share the machine)` : ''}`,
  ];
  for (const l of lines) console.log(l);
  const printLoadAfter = () => {
    const shared = Math.max(loadavg()[0], before) > cpu.logical;
    console.log(`load average after (1/5/15 min): ${load()}${shared ? ` (the machine was shared during the run: its figures, ratios included, hold only side by side)` : ''}`);
  };
  return { lines, printLoadAfter };
}

/** Run bench/torch_probe.py under `change`; a crash or a bad exit becomes `error`, never a throw. */
export function probeReference(threads: number, candidate: CoreTypeCandidate, python = REFERENCE_PYTHON): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const child = spawn(python, ['bench/torch_probe.py', String(threads)], { cwd: root, env: applyEnv(candidate.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ candidate, error: e.message });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return resolve({ candidate, error: `${describeExit(code, signal)}${err.trim() ? `: ${err.trim().split('\n').pop()}` : ''}` });
      try {
        resolve({ candidate, probe: JSON.parse(out.trim().split('\n').pop() ?? '') as TorchProbe });
      } catch {
        resolve({ candidate, error: `printed no probe JSON: ${out.slice(-200)}` });
      }
    });
  });
}

export interface ReferenceCheck {
  /** False when python3-torch is missing or every candidate crashed: run no reference. */
  available: boolean;
  /** The environment change to run the reference under (the chosen core type). */
  env: EnvChange;
  probe?: TorchProbe;
  verdict: Verdict;
  lines: string[];
}

/** One line about a probe: versions, BLAS, core, threads, GFLOP/s. */
export function describeProbe(p: TorchProbe): string {
  const ob = p.openblas;
  const blas = blasKind(p.sgemmFrom) === 'openblas' && ob ? `${ob.config.split(' ').slice(0, 2).join(' ')}, core ${ob.corename}, ${ob.threads} thread(s)` : `${blasKind(p.sgemmFrom)} BLAS`;
  return `PyTorch ${p.torch} (NumPy ${p.numpy}, Python ${p.python}), ${p.torchThreads} thread(s); sgemm from ${p.sgemmFrom ?? 'unknown'} (${blas}); 512^3 ${p.gflops.toFixed(1)} GFLOP/s`;
}

/**
 * Probe the reference under each core-type candidate, keep the best, judge it and print what was found. Never throws
 * for a missing or crashing reference: the result says whether to run it and whether a ratio may be printed.
 */
export async function checkReference(threads: number, python = REFERENCE_PYTHON): Promise<ReferenceCheck> {
  const lines: string[] = [];
  const say = (l: string) => {
    lines.push(l);
    console.log(l);
  };
  if (!existsSync(python)) {
    say(`reference: skipped, ${python} is missing (${INSTALL_TORCH})`);
    return { available: false, env: {}, verdict: { ratioAllowed: false, reasons: [`${python} is missing`] }, lines };
  }
  const outcomes: ProbeOutcome[] = [];
  for (const candidate of coreTypeCandidates(cpuinfo().flags, process.env)) {
    const o = await probeReference(threads, candidate, python);
    outcomes.push(o);
    say(`reference probe, ${o.candidate.label}: ${o.probe ? describeProbe(o.probe) : `failed, ${o.error}`}`);
  }
  const best = pickCandidate(outcomes);
  if (!best?.probe) {
    const why = outcomes.map((o) => o.error).join('; ');
    say(`reference: not run, every probe failed (${why}); if torch is missing: ${INSTALL_TORCH}`);
    return { available: false, env: {}, verdict: { ratioAllowed: false, reasons: [`the reference did not run: ${why}`] }, lines };
  }
  say(`reference runs with ${describeEnvChange(best.candidate.env)}: ${best.candidate.label}`);
  if (best.probe.threadpools) say(`  threadpoolctl: ${best.probe.threadpools.map((t) => `${t.internal_api} ${t.version ?? ''} (${t.filepath.split('/').pop()}) ${t.num_threads} thread(s)${t.architecture ? ` ${t.architecture}` : ''}`.replace(/\s+/g, ' ')).join('; ') || 'no thread pool found'}`);
  say(`  torch build: ${Object.entries(best.probe.buildBlas).map(([k, v]) => `${k}=${v}`).join(', ') || 'no BLAS_INFO'}`);
  const verdict = judgeReference(best.probe, threads);
  if (!verdict.ratioAllowed) say(`reference check FAILED, no ratio will be printed:\n${verdict.reasons.map((r) => `  - ${r}`).join('\n')}`);
  return { available: true, env: best.candidate.env, probe: best.probe, verdict, lines };
}

/** The ratio line, or why there is none. */
export function ratioOrRefusal(check: ReferenceCheck | undefined, ratio: () => string, crashed?: string): string {
  if (crashed) return `no ratio: the PyTorch reference crashed (${crashed}); unilab's figures above stand alone`;
  if (!check || !check.available) return 'no ratio: the PyTorch reference did not run';
  if (!check.verdict.ratioAllowed) return `no ratio: the reference is not the one BENCH.md compares against:\n${check.verdict.reasons.map((r) => `  - ${r}`).join('\n')}`;
  return ratio();
}
