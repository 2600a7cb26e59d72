/**
 * bench-healthz: how fast the job server answers `GET /healthz` while a job trains in its worker (issue: "/healthz
 * answers in < 50 ms while a job trains"), against the same server idle, in one run.
 *
 *   npm run -s bench:healthz [-- --requests N]
 *
 * The real server of `unilab serve` on this runtime (Node: worker_threads, better-sqlite3), on 127.0.0.1 with a
 * fresh data directory. First N requests with no job, then the quickstart's model (decoder, 2 layers, d_model 128, WASM
 * backend, SOTU, batch 16 x 128) training in a worker while the same N requests go out one after another; the job
 * must still be running at the end (else the second half measured an idle server). Reports the median, 90th and
 * 99th percentiles and the maximum, and the job's steps during the timed requests. Timings live here, not in the
 * tests: on a shared 2-core machine a request sometimes waits for the CPU.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, loadServerConfig, startServerHere } from '@unilab/api';
import { benchEnvironment } from './reference-check.ts';

const argv = process.argv.slice(2);
const at = argv.indexOf('--requests');
const requests = at >= 0 ? Number(argv[at + 1]) : 2000;
if (!Number.isInteger(requests) || requests < 10) throw new Error(`--requests must be an integer >= 10, got ${argv[at + 1]}`);

const machine = benchEnvironment();
const dataDir = await mkdtemp(join(tmpdir(), 'unilab-bench-healthz-'));
const token = 'bench-token';
const server = await startServerHere(await loadServerConfig({ overrides: { dataDir, port: 0, token, shutdownGraceMs: 2000 } }));
const client = new ApiClient(server.url, token);

async function timeRequests(): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    const response = await fetch(new URL('/healthz', server.url));
    await response.json();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const row = (name: string, t: number[]) =>
  `| ${name} | ${[0.5, 0.9, 0.99].map((q) => quantile(t, q).toFixed(2)).join(' | ')} | ${t[t.length - 1].toFixed(2)} |`;

try {
  await timeRequests(); // warm the HTTP path and the JIT before either side is timed
  const idle = await timeRequests();
  const job = await client.submit({
    name: 'bench-healthz',
    backend: 'wasm',
    data: { corpus: 'sotu' },
    model: { architecture: 'decoder', config: { layers: 2, dModel: 128, heads: 4 } },
    train: { steps: 100_000, batchSize: 16, seqLen: 128, evalEvery: 0, checkpointEvery: 0 },
    samplePrompts: [],
  });
  let before = await client.job(job.id);
  while (before.step < 5) {
    await new Promise((r) => setTimeout(r, 100));
    before = await client.job(job.id);
  }
  const training = await timeRequests();
  const after = await client.job(job.id);
  if (after.status !== 'running') throw new Error(`the job ended (${after.status}) before the timed requests did; the figures would be of an idle server`);
  await client.cancel(job.id);
  console.log(`GET /healthz, ${requests} sequential requests each (ms), Node ${process.versions.node}:`);
  console.log('| server | median | p90 | p99 | max |');
  console.log('|---|---|---|---|---|');
  console.log(row('idle', idle));
  console.log(row(`training in its worker (steps ${before.step} → ${after.step} meanwhile)`, training));
} finally {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
  machine.printLoadAfter();
}
