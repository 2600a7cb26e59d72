/**
 * bench-scale-out: what adding a worker buys on the Redis backend (issue: "sweep throughput with 1 and 2 worker
 * processes of one thread each on the 2-core machine, side by side in one run, and the queue's overhead per job").
 *
 *   npm run -s bench:scale-out [-- --cells 6 --steps 60 --jobs 20]
 *
 * A real redis-server on a free port, `unilab serve --redis` in this process and `unilab worker` processes (one
 * job thread each, UNILAB_THREADS=1) sharing one data directory. Throughput: `unilab sweep --server` of the same
 * grid (decoder x clm, `--cells` seeds, WASM backend) end to end, first with one worker, then with two, each on a
 * fresh sweep directory; cells per hour is cells / wall time. Overhead: `--jobs` trivial jobs (one step of a
 * 1-layer model) one after another, submit to completed as the client sees it, on the Redis queue and on the
 * embedded queue (worker threads of the server); the difference is what the queue costs a job. On a shared machine
 * the figures hold only side by side.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClient, loadServerConfig, startServerHere, type RunningServer } from '@unilab/api';
import { benchEnvironment } from './reference-check.ts';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const argv = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = argv.indexOf(`--${name}`);
  const n = at >= 0 ? Number(argv[at + 1]) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${argv[at + 1]}`);
  return n;
};
const cells = option('cells', 6);
const steps = option('steps', 60);
const trivialJobs = option('jobs', 20);
const CLI = ['npx', 'tsx', '--conditions=development', 'apps/cli/src/main.ts'];
const token = 'bench-token';

const machine = benchEnvironment();
const children: ChildProcess[] = [];
const scratch = await mkdtemp(join(tmpdir(), 'unilab-bench-scale-out-'));

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

/** Spawn a process (its own group, so it can be stopped whole) and wait until its output says `ready`. */
function start(command: string[], ready: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(command[0], command.slice(1), { cwd: root, detached: true, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  return new Promise((done, fail) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(ready)) done(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => fail(new Error(`${command.join(' ')} exited with code ${code}:\n${output}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(-child.pid!, 'SIGTERM');
  return exited;
}

const startWorkers = (redis: string, dataDir: string, n: number) =>
  Promise.all(
    Array.from({ length: n }, (_, i) =>
      start([...CLI, 'worker', '--redis', redis, '--data-dir', dataDir, '--scratch', join(scratch, `w${i + 1}`), '--name', `w${i + 1}`], 'taking jobs from', { UNILAB_THREADS: '1' }),
    ),
  );

/**
 * `unilab sweep --server` of the bench grid: its wall time in seconds, and the cells' times on a worker summed,
 * whose ratio to the wall time is how many cells trained at once on average, whether or not the CPUs let them go
 * faster.
 */
async function timeSweep(server: RunningServer, dataDir: string, name: string): Promise<{ seconds: number; cellSeconds: number }> {
  const experiment = {
    name,
    base: {
      backend: 'wasm',
      data: { corpus: 'sotu', heldOutFraction: 0.05 },
      model: { config: { layers: 2, heads: 4, dModel: 64 } },
      train: { steps, batchSize: 8, seqLen: 64, lr: 3e-3, warmupSteps: 5, evalEvery: 0, evalBatches: 2, checkpointEvery: 20 },
    },
    architectures: ['decoder'],
    objectives: ['clm'],
    sizes: [{ name: 's', parameters: 100_000 }],
    seeds: Array.from({ length: cells }, (_, i) => i + 1),
  };
  const file = join(scratch, `${name}.json`);
  await writeFile(file, JSON.stringify(experiment));
  const t0 = performance.now();
  const sweep = spawn(CLI[0], [...CLI.slice(1), 'sweep', file, '--server', server.url, '--token', token, '--out', join(dataDir, 'sweeps', name), '--eval', 'none'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  sweep.stderr!.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((r) => sweep.once('exit', r));
  if (code !== 0) throw new Error(`unilab sweep exited with code ${code}:\n${err.slice(-2000)}`);
  const seconds = (performance.now() - t0) / 1000;
  // Each cell's time on a worker (started to finished, as its worker logged them; not its wait in the queue).
  const jobs = (await new ApiClient(server.url, token).jobs()).filter((j) => j.name.startsWith(`${name}/`));
  if (jobs.length !== cells) throw new Error(`expected ${cells} jobs of sweep ${name}, found ${jobs.length}`);
  return { seconds, cellSeconds: jobs.reduce((n, j) => n + (Date.parse(j.finishedAt!) - Date.parse(j.startedAt!)) / 1000, 0) };
}

/**
 * Trivial jobs one after another: for each, submit to the client's seeing it running (the queue's pick-up, and the
 * worker's thread start) and submit to completed (ms, each list sorted).
 */
async function roundTrips(server: RunningServer): Promise<{ running: number[]; completed: number[] }> {
  const client = new ApiClient(server.url, token);
  const running: number[] = [];
  const completed: number[] = [];
  for (let i = 0; i < trivialJobs + 2; i++) {
    const t0 = performance.now();
    let seenRunning = 0;
    const job = await client.submit({
      name: `trivial-${i}`,
      backend: 'reference',
      data: { corpus: 'sotu', heldOutFraction: 0.05 },
      model: { architecture: 'decoder', config: { layers: 1, dModel: 16, heads: 2 } },
      train: { steps: 1, batchSize: 1, seqLen: 8, warmupSteps: 0, evalEvery: 0, evalBatches: 1, checkpointEvery: 0 },
      samplePrompts: [],
    });
    const done = await client.follow(job.id, (e) => {
      if (e.event === 'status' && JSON.parse(e.data).status === 'running' && seenRunning === 0) seenRunning = performance.now();
    });
    if (done.status !== 'completed') throw new Error(`trivial job ${job.id} ended ${done.status}: ${done.error?.message}`);
    // The first two warm the worker's registry and the JIT.
    if (i >= 2) {
      running.push(seenRunning - t0);
      completed.push(performance.now() - t0);
    }
  }
  return { running: running.sort((a, b) => a - b), completed: completed.sort((a, b) => a - b) };
}

const median = (t: number[]) => t[Math.floor(t.length / 2)];
const p90 = (t: number[]) => t[Math.floor(t.length * 0.9)];

try {
  const redisDir = join(scratch, 'redis');
  await mkdir(redisDir, { recursive: true });
  const port = await freePort();
  await start(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'no'], 'Ready to accept connections');
  const redis = `redis://127.0.0.1:${port}`;
  const dataDir = join(scratch, 'shared');
  const sweeps: { workers: number; seconds: number; cellSeconds: number }[] = [];
  let redisTrips = { running: [] as number[], completed: [] as number[] };
  const server = await startServerHere(await loadServerConfig({ overrides: { dataDir, port: 0, token, redis } }));
  try {
    for (const workers of [1, 2]) {
      const started = await startWorkers(redis, dataDir, workers);
      sweeps.push({ workers, ...(await timeSweep(server, dataDir, `bench-${workers}w`)) });
      if (workers === 1) redisTrips = await roundTrips(server);
      await Promise.all(started.map(stop));
    }
  } finally {
    await server.close();
  }
  const embedded = await startServerHere(await loadServerConfig({ overrides: { dataDir: join(scratch, 'embedded'), port: 0, token } }));
  let embeddedTrips: typeof redisTrips;
  try {
    embeddedTrips = await roundTrips(embedded);
  } finally {
    await embedded.close();
  }

  const perHour = (seconds: number) => (cells / seconds) * 3600;
  console.log(`\nSweep throughput: unilab sweep --server on unilab serve --redis, ${cells} cells (decoder x clm, ~100k parameters, WASM, batch 8 x 64, ${steps} steps), workers of one thread each (UNILAB_THREADS=1):`);
  console.log('| workers | cells | wall s | cells/hour | vs 1 worker | cells training at once (mean) |');
  console.log('|---|---|---|---|---|---|');
  for (const s of sweeps)
    console.log(
      `| ${s.workers} | ${cells} | ${s.seconds.toFixed(1)} | ${perHour(s.seconds).toFixed(0)} | ${(perHour(s.seconds) / perHour(sweeps[0].seconds)).toFixed(2)}x | ${(s.cellSeconds / s.seconds).toFixed(2)} |`,
    );
  console.log(`\nQueue overhead per job: ${trivialJobs} trivial jobs (1 step of a 1-layer d16 model, reference backend) one after another, as the client sees them (ms):`);
  console.log('| queue | submit → running, median | p90 | submit → completed, median | p90 |');
  console.log('|---|---|---|---|---|');
  const row = (name: string, t: typeof redisTrips) => `| ${name} | ${median(t.running).toFixed(1)} | ${p90(t.running).toFixed(1)} | ${median(t.completed).toFixed(1)} | ${p90(t.completed).toFixed(1)} |`;
  console.log(row('Redis + BullMQ, 1 worker process', redisTrips));
  console.log(row('embedded (a worker thread of the server)', embeddedTrips));
} finally {
  for (const child of children.reverse()) await stop(child).catch(() => {});
  await rm(scratch, { recursive: true, force: true });
  machine.printLoadAfter();
}
