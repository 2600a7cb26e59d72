import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../src/client.ts';
import { TOKEN, killServer, makeDataDir, removeTempDirs, startTestServer, tinySpec, waitForJob } from './helpers.ts';
import { freePort, redisAvailable, runCli, startApi, startRedis, startWorker, type WorkerProcess } from './redis-cluster.ts';

// The Redis backend end to end: a real redis-server, `unilab serve --redis` and `unilab worker` processes sharing
// one data directory (as machines share a filesystem), each worker with a scratch directory of its own.
const available = redisAvailable();
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children.reverse()) await killServer(child);
  await removeTempDirs();
});

interface Status {
  seq: number;
  status: string;
  worker?: string;
  previousWorker?: string;
  leaseTakenOverFrom?: string;
  run?: number;
  resume?: boolean;
}

/** A job's whole event log, read over SSE from an API instance, until the job finishes. */
async function eventsOf(client: ApiClient, id: string): Promise<{ seq: number; type: string; data: Record<string, any> }[]> {
  const events: { seq: number; type: string; data: Record<string, any> }[] = [];
  await client.follow(id, (e) => events.push({ seq: Number(e.id), type: e.event, data: JSON.parse(e.data) }));
  return events;
}

const statuses = (events: Awaited<ReturnType<typeof eventsOf>>): Status[] =>
  events.filter((e) => e.type === 'status').map((e) => ({ seq: e.seq, ...(e.data as Omit<Status, 'seq'>) }));

describe.skipIf(!available)('the Redis backend (BullMQ): jobs on worker processes that share a data directory', () => {
  let redis: string;
  let dataDir: string;
  const workers: WorkerProcess[] = [];
  let api: Awaited<ReturnType<typeof startApi>>;
  let port: number;
  /** The uninterrupted 160-step job of the kill test. */
  let reference: { loss: number | null; heldOutLoss: number | null } | null = null;

  beforeAll(async () => {
    const server = await startRedis();
    children.push(server.child);
    redis = server.url;
    dataDir = await makeDataDir();
    port = await freePort();
    const started = await Promise.all([startApi(redis, dataDir, port), startWorker(redis, dataDir, 'w1'), startWorker(redis, dataDir, 'w2')]);
    api = started[0];
    children.push(api.child);
    for (const w of started.slice(1) as WorkerProcess[]) {
      workers.push(w);
      children.push(w.child);
    }
  });

  it('a submitted job trains on a worker, its events reach every API instance\'s SSE alike; a cancel stops it on the worker and a resume continues it on one', async () => {
    // A second API instance (in this process) on the same Redis: it streams the same events with the same ids.
    const second = await startTestServer(dataDir, { redis });
    const job = await api.client.submit(tinySpec({ name: 'on-a-worker', train: { steps: 100, checkpointEvery: 10 } }));
    // Cancel once it has trained a little: the request reaches the worker over pub/sub, which checkpoints and stops.
    await waitForJob(() => api.client.job(job.id), (j) => j.step >= 15, 60_000);
    await api.client.cancel(job.id);
    const cancelled = await waitForJob(() => api.client.job(job.id), (j) => j.status === 'cancelled', 60_000);
    expect(cancelled.step).toBeLessThan(100);
    await api.client.resume(job.id);
    const onSecond = eventsOf(second.client, job.id);
    const events = await eventsOf(api.client, job.id);
    const done = await api.client.job(job.id);
    expect(done.status).toBe('completed');
    expect(done.step).toBe(100);
    const runs = statuses(events).filter((s) => s.status === 'running');
    expect(runs).toHaveLength(2);
    for (const run of runs) expect(['w1', 'w2']).toContain(run.worker);
    expect(runs[1].resume).toBe(true);
    expect(statuses(events).map((s) => s.status)).toEqual(['queued', 'running', 'cancelled', 'queued', 'running', 'completed']);
    const resumedAt = events.filter((e) => e.type === 'start').at(-1)!.data.startStep;
    expect(resumedAt).toBe(cancelled.step);
    // Sequence numbers are the log's order, with no gaps: Last-Event-ID resumes on any API instance.
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const checkpoints = await api.client.checkpoints(job.id);
    expect(checkpoints.at(-1)!.path).toMatch(/step-0*100\.safetensors$/);
    expect(existsSync(`${dataDir}/${checkpoints.at(-1)!.path}`)).toBe(true);
    expect((await (await fetch(`${api.url}/healthz`)).json()).jobs).toMatchObject({ backend: 'redis', running: 0, queued: 0 });
    const seenBySecond = await onSecond;
    await second.server.close();
    const shape = (list: typeof events) => list.map((e) => [e.seq, e.type, e.data.globalStep ?? e.data.status ?? null]);
    expect(shape(seenBySecond)).toEqual(shape(events));
  });

  it('a sweep\'s cells spread over the workers, and an API killed mid-sweep and restarted loses nothing', async () => {
    const { backend, data, model, train } = tinySpec({ train: { steps: 40, checkpointEvery: 20 } });
    const experiment = {
      name: 'spread',
      base: { backend, data, model: { config: { layers: model.config.layers, heads: model.config.heads } }, train },
      architectures: ['decoder'],
      objectives: ['clm'],
      sizes: [{ name: 'xs', parameters: 6_000 }],
      seeds: [1, 2, 3, 4],
    };
    const file = join(dataDir, 'spread.json');
    await writeFile(file, JSON.stringify(experiment));
    const out = join(dataDir, 'sweeps', 'spread');
    const sweep = runCli(['sweep', file, '--server', api.url, '--token', TOKEN, '--out', out, '--eval', 'none']);
    children.push(sweep.child);

    // Mid-sweep: some cell has trained, some has not. kill -9 the API; the workers go on writing to Redis meanwhile.
    const sweepJobs = async () => (await api.client.jobs()).filter((j) => j.name !== 'on-a-worker').map((j) => j.status);
    await Promise.race([
      waitForJob(sweepJobs, (s) => s.length === 4 && s.includes('completed') && s.some((x) => x !== 'completed'), 60_000),
      sweep.done.then((r) => Promise.reject(new Error(`the sweep ended before the API was killed:\n${r.output}`))),
    ]);
    await killServer(api.child, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1500));
    api = await startApi(redis, dataDir, port);
    children.push(api.child);

    const result = await sweep.done;
    expect(result.code, result.output).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, 'sweep.json'), 'utf8'));
    expect(manifest.cells.map((c: { status: string }) => c.status)).toEqual(['done', 'done', 'done', 'done']);
    const ranOn = new Set<string>();
    for (const cell of manifest.cells) {
      const job = await api.client.job(cell.jobId);
      expect(job.status).toBe('completed');
      // Every step's event and metric is there, those written while no API ran too.
      const events = await eventsOf(api.client, job.id);
      expect(events.filter((e) => e.type === 'step').map((e) => e.data.globalStep)).toEqual([...Array(40).keys()].map((i) => i + 1));
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      const metrics = (await (await fetch(`${api.url}/v1/jobs/${job.id}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json()).metrics;
      expect(metrics.filter((m: { loss: number | null }) => m.loss !== null).length).toBe(40);
      for (const s of statuses(events)) if (s.worker) ranOn.add(s.worker);
    }
    expect([...ranOn].sort()).toEqual(['w1', 'w2']);
  });

  it('kill -9 a worker mid-job: another worker takes the job over from BullMQ\'s stalled check and ends it with the same final loss as an uninterrupted run', async () => {
    const spec = (name: string) => tinySpec({ name, train: { steps: 160, checkpointEvery: 20 } });
    // The reference trains on one worker while the other takes the job that will lose its worker.
    const referenceJob = await api.client.submit(spec('reference'));
    const job = await api.client.submit(spec('killed'));
    let victim: WorkerProcess | null = null;
    let killedAt = 0;
    const controller = new AbortController();
    await api.client
      .follow(
        job.id,
        (e) => {
          const data = JSON.parse(e.data);
          if (e.event === 'status' && data.status === 'running') victim = workers.find((w) => w.name === data.worker)!;
          if (e.event === 'step' && data.globalStep >= 70 && victim && killedAt === 0) {
            killedAt = data.globalStep;
            process.kill(-victim.child.pid!, 'SIGKILL');
            controller.abort();
          }
        },
        { signal: controller.signal },
      )
      .catch((err) => {
        if (!controller.signal.aborted) throw err;
      });
    expect(victim).not.toBeNull();
    const killed = victim! as WorkerProcess;
    expect((await api.client.job(job.id)).status).toBe('running');

    const events = await eventsOf(api.client, job.id);
    const done = await api.client.job(job.id);
    const ref = await waitForJob(() => api.client.job(referenceJob.id), (j) => j.status === 'completed');
    reference = ref.metrics;
    expect(done.status).toBe('completed');
    // The killed worker's run, then the survivor's (more than one if, on a starved machine, it too missed a lock
    // renewal and took the job back: each such run is logged, with a worker-lost event).
    const runs = statuses(events).filter((s) => s.status === 'running');
    const survivor = workers.find((w) => w !== killed)!.name;
    expect(runs.map((s) => s.worker)).toEqual([killed.name, ...runs.slice(1).map(() => survivor)]);
    expect(runs[1]).toMatchObject({ resume: true, previousWorker: killed.name });
    const restart = events.filter((e) => e.type === 'start').at(-1)!.data;
    const lastStepBeforeKill = Math.max(...events.filter((e) => e.type === 'step' && e.seq < runs[1].seq).map((e) => e.data.globalStep));
    expect(restart.resumedFrom).toMatch(/step-\d+\.safetensors$/);
    expect(restart.startStep).toBeLessThanOrEqual(lastStepBeforeKill);
    expect(lastStepBeforeKill - restart.startStep).toBeLessThanOrEqual(20);
    // Bit-identical continuation: the final loss, and every step's loss after the resume, equal the reference's.
    expect(done.metrics.loss).toBe(ref.metrics.loss);
    expect(done.metrics.heldOutLoss).toBe(ref.metrics.heldOutLoss);
    const lossAt = async (id: string) =>
      new Map<number, number>(
        (await (await fetch(`${api.url}/v1/jobs/${id}/metrics?limit=1000`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json()).metrics
          .filter((m: { loss: number | null }) => m.loss !== null)
          .map((m: { globalStep: number; loss: number }) => [m.globalStep, m.loss]),
      );
    const [mine, theirs] = await Promise.all([lossAt(job.id), lossAt(referenceJob.id)]);
    for (let step = restart.startStep + 1; step <= 160; step++) expect(mine.get(step)).toBe(theirs.get(step));
    console.log(
      [
        'kill-a-worker transcript:',
        `  job ${job.id} started on worker ${runs[0].worker}`,
        `  worker ${killed.name} killed (SIGKILL) when the job reported step ${killedAt}; its last step logged was ${lastStepBeforeKill}`,
        `  BullMQ's stalled check put the job back in the queue; worker ${runs[1].worker} took it (run ${runs[1].run}` +
          `${runs[1].leaseTakenOverFrom ? `, after the lease of ${runs[1].leaseTakenOverFrom} went unrenewed` : ''})`,
        `  resumed from ${restart.resumedFrom} (step ${restart.startStep})`,
        `  final loss ${done.metrics.loss} (uninterrupted reference ${ref.metrics.loss}), held-out ${done.metrics.heldOutLoss} (reference ${ref.metrics.heldOutLoss})`,
        '  status log:',
        ...events.filter((e) => e.type === 'status' || e.type === 'worker-lost').map((e) => `    ${e.seq} ${e.type} ${e.data.status ?? ''} ${e.data.message}`),
      ].join('\n'),
    );
  });

  it('a worker stopped with SIGTERM checkpoints its job and puts it back in the queue; another worker ends it with the same final loss', async () => {
    expect(reference).not.toBeNull();
    const alive = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    const added = await startWorker(redis, dataDir, 'w3');
    children.push(added.child);
    const pool = [...alive, added];
    const job = await api.client.submit(tinySpec({ name: 'graceful', train: { steps: 160, checkpointEvery: 20 } }));
    let holder = '';
    const controller = new AbortController();
    await api.client
      .follow(
        job.id,
        (e) => {
          const data = JSON.parse(e.data);
          if (e.event === 'status' && data.status === 'running') holder = data.worker;
          if (e.event === 'step' && data.globalStep >= 30) controller.abort();
        },
        { signal: controller.signal },
      )
      .catch((err) => {
        if (!controller.signal.aborted) throw err;
      });
    expect((await api.client.job(job.id)).status).toBe('running');
    await killServer(pool.find((w) => w.name === holder)!.child, 'SIGTERM');

    const events = await eventsOf(api.client, job.id);
    const done = await api.client.job(job.id);
    expect(done.status).toBe('completed');
    const path = statuses(events).map((s) => `${s.status}${s.worker ? `@${s.worker}` : ''}`);
    const other = pool.find((w) => w.name !== holder)!.name;
    expect(path).toEqual(['queued', `running@${holder}`, `queued@${holder}`, `running@${other}`, `completed@${other}`]);
    // It went back with a checkpoint at the step it reached, so nothing is trained twice.
    const stoppedAt = Math.max(...events.filter((e) => e.type === 'step' && e.seq < statuses(events)[2].seq).map((e) => e.data.globalStep));
    expect(events.filter((e) => e.type === 'start').at(-1)!.data.startStep).toBe(stoppedAt);
    expect(done.metrics.loss).toBe(reference!.loss);
    expect(done.metrics.heldOutLoss).toBe(reference!.heldOutLoss);
  });
});
