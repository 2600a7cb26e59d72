import { copyFile, mkdir, open, readFile, truncate, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiRequestError } from '../src/client.ts';
import { loadServerConfig } from '../src/config.ts';
import { nodeRuntime } from '../src/node/runtime.ts';
import { startServer, type RunningServer } from '../src/server.ts';
import { JobStore } from '../src/store.ts';
import { TOKEN, followToEnd, makeDataDir, removeTempDirs, startTestServer, tempDir, tinySpec, waitForJob } from './helpers.ts';

let dataDir: string;
let server: RunningServer;
let client: ApiClient;

beforeAll(async () => {
  dataDir = await makeDataDir();
  ({ server, client } = await startTestServer(dataDir));
});

afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

function post(path: string, body: string) {
  return fetch(new URL(path, server.url), { method: 'POST', body, headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' } });
}

async function refusal(promise: Promise<unknown>): Promise<ApiRequestError> {
  const err = await promise.then(
    () => null,
    (e) => e,
  );
  if (!(err instanceof ApiRequestError)) throw new Error(`expected a refusal, got ${err}`);
  return err;
}

/** Flip one byte of a checkpoint's tensor data: it still parses, but its checksum no longer matches. */
async function corrupt(path: string): Promise<void> {
  const bytes = await readFile(path);
  bytes[bytes.length - 5] ^= 0xff;
  await writeFile(path, bytes);
}

/** A checkpoint path as the API reports it (relative to the data directory) on this machine. */
const onDisk = (path: string) => join(realpathSync(dataDir), path);

describe('requests that used to end in a 500 get a clear 4xx', () => {
  it('refuses deeply nested JSON with 400 naming the body, and the server carries on', async () => {
    const deep = `{"name":"x","model":{"config":${'{"a":'.repeat(30_000)}1${'}'.repeat(30_000)}}}`;
    for (const path of ['/v1/jobs', '/v1/completions']) {
      const r = await post(path, deep);
      expect(r.status, path).toBe(400);
      expect((await r.json()).error).toMatchObject({ path: 'body', message: expect.stringMatching(/^body: JSON nested more than 64 levels deep \(at character \d+\); a spec needs fewer than 10$/) });
    }
    const arrays = await post('/v1/jobs', `${'['.repeat(100)}${']'.repeat(100)}`);
    expect(arrays.status).toBe(400);
    // Brackets inside strings are text, not nesting.
    const prompts = await post('/v1/jobs', JSON.stringify({ ...tinySpec({ name: '{['.repeat(50), train: { steps: 2, checkpointEvery: 2 } }), outDir: 'deep-ok' }));
    expect(prompts.status).toBe(201);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('refuses an outDir that names a file, runs through one, or lies in jobs/, with 400 and no absolute path', async () => {
    await writeFile(join(dataDir, 'notes.txt'), 'not a directory');
    for (const [outDir, message] of [
      ['notes.txt', 'spec.outDir: "notes.txt" is a file; expected a new or empty directory inside the data directory'],
      ['notes.txt/run', 'spec.outDir: "notes.txt/run" goes through the file "notes.txt"; expected a new or empty directory inside the data directory'],
      ['jobs/mine', 'spec.outDir: "jobs/mine" is inside jobs/, where jobs without an outDir get theirs; choose a directory elsewhere in the data directory'],
    ]) {
      const err = await refusal(client.submit({ ...tinySpec(), outDir }));
      expect(err, outDir).toMatchObject({ status: 400, path: 'spec.outDir', message });
    }
  });

  it('completions skip a damaged checkpoint with an event, and refuse a job whose checkpoints are all damaged with 400', async () => {
    const partly = await client.submit(tinySpec({ name: 'partly-damaged', train: { steps: 4, checkpointEvery: 2 } }));
    const wholly = await client.submit(tinySpec({ name: 'all-damaged', train: { steps: 4, checkpointEvery: 2 } }));
    await followToEnd(client, wholly.id);
    const checkpoints = async (id: string) => (await client.json<{ checkpoints: { globalStep: number; path: string }[] }>('GET', `/v1/jobs/${id}/checkpoints`)).checkpoints;
    const partlyCheckpoints = await checkpoints(partly.id);
    expect(partlyCheckpoints.map((k) => k.globalStep)).toEqual([2, 4]);
    // Paths in responses are relative to the data directory.
    expect(partlyCheckpoints[1].path).toMatch(/^jobs\/job_\w+\/stage-0-partly-damaged\/attempt-0\/checkpoints\/step-00000004\.safetensors$/);

    await corrupt(onDisk(partlyCheckpoints[1].path));
    const request = (model: string) => ({ model, prompt: 'The Congress', max_tokens: 4, temperature: 0 });
    const served = await client.json<{ choices: unknown[] }>('POST', '/v1/completions', request(partly.id));
    expect(served.choices).toHaveLength(1);
    const events = (await (await fetch(`${server.url}/v1/jobs/${partly.id}/events`, { headers: { Authorization: `Bearer ${TOKEN}` } })).text()).split('\n');
    const skipped = events.filter((line) => line === 'event: checkpoint-skipped');
    expect(skipped).toHaveLength(1);
    const skippedData = JSON.parse(events[events.indexOf('event: checkpoint-skipped') + 1].slice('data: '.length));
    expect(skippedData).toMatchObject({ step: 4, by: 'completions', path: partlyCheckpoints[1].path, reason: expect.stringMatching(/is corrupt: its tensor data does not match the checksum/) });
    expect(JSON.stringify(skippedData)).not.toContain(realpathSync(dataDir));

    for (const k of await checkpoints(wholly.id)) await corrupt(onDisk(k.path));
    const response = await post('/v1/completions', JSON.stringify(request(wholly.id)));
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(JSON.parse(text).error).toMatchObject({
      path: 'body.model',
      message: `job ${wholly.id} has no intact checkpoint: the 2 on disk (steps 2, 4) are all damaged; see its checkpoint-skipped events`,
    });
    expect(text).not.toMatch(/"\/|\s\//);
    // Known damaged now: refused again without asking the worker, and no longer listed as a model.
    expect((await post('/v1/completions', JSON.stringify(request(wholly.id)))).status).toBe(400);
    expect((await client.json<{ data: { id: string }[] }>('GET', '/v1/models')).data.map((m) => m.id)).not.toContain(wholly.id);
  });

  it('a resume that passes over a damaged checkpoint says so in an event', async () => {
    const job = await client.submit(tinySpec({ name: 'resume-damaged', train: { steps: 2000, checkpointEvery: 3 } }));
    await waitForJob(() => client.job(job.id), (j) => j.step >= 7);
    await client.cancel(job.id);
    const cancelled = await waitForJob(() => client.job(job.id), (j) => j.status === 'cancelled');
    const newest = (await client.json<{ checkpoints: { globalStep: number; path: string }[] }>('GET', `/v1/jobs/${job.id}/checkpoints`)).checkpoints.at(-1)!;
    expect(newest.globalStep).toBe(cancelled.step);
    await corrupt(onDisk(newest.path));
    await client.resume(job.id);
    const seen: { type: string; data: Record<string, any> }[] = [];
    const controller = new AbortController();
    await client
      .follow(
        job.id,
        (e) => {
          seen.push({ type: e.event, data: JSON.parse(e.data) });
          if (e.event === 'start' && seen.filter((s) => s.type === 'start').length === 2) controller.abort();
        },
        { signal: controller.signal, retries: 0 },
      )
      .catch((err) => {
        if (!controller.signal.aborted) throw err;
      });
    await client.cancel(job.id);
    const skip = seen.find((e) => e.type === 'checkpoint-skipped')!;
    expect(skip.data).toMatchObject({ by: 'resume', stage: 0, path: newest.path, reason: expect.stringMatching(/is corrupt/) });
    const restart = seen.filter((e) => e.type === 'start').at(-1)!;
    expect(restart.data.startStep).toBeLessThan(newest.globalStep);
    expect(restart.data.resumedFrom).not.toMatch(/^\//);
    await waitForJob(() => client.job(job.id), (j) => j.status === 'cancelled');
  });
});

describe('a damaged job store', () => {
  /** A store with some jobs and events in it, as a server leaves it, closed. */
  async function storeWithJobs(dir: string): Promise<void> {
    const store = new JobStore(await nodeRuntime.openDatabase(join(dir, 'unilab.db')));
    for (let i = 0; i < 40; i++) {
      const id = `job_${String(i).padStart(16, '0')}`;
      store.insertJob({ id, name: `job ${i}`, spec: tinySpec(), runSpec: tinySpec(), outDir: join(dir, 'jobs', id), totalSteps: 12, stageCount: 1 });
      for (let k = 0; k < 10; k++) store.appendEvent(id, 'step', { globalStep: k, loss: 3 - k / 10, note: 'x'.repeat(200) });
    }
    store.close();
  }

  const start = (dir: string) => loadServerConfig({ overrides: { dataDir: dir, port: 0, token: TOKEN } }).then((config) => startServer(config, nodeRuntime));

  it('is named and refused at start (empty, truncated or overwritten), rather than served as an empty store', async () => {
    const intact = await tempDir('unilab-store-');
    await storeWithJobs(intact);
    const cases: [string, (path: string) => Promise<void>, RegExp][] = [
      ['empty', (path) => truncate(path, 0), /\(it is an empty file\)/],
      ['truncated', (path) => truncate(path, 20_000), /\((integrity check: |database disk image is malformed)/],
      [
        'overwritten',
        async (path) => {
          const file = await open(path, 'r+');
          await file.write(Buffer.alloc(8192, 0x5a), 0, 8192, 8192);
          await file.close();
        },
        /\((integrity check: |database disk image is malformed)/,
      ],
    ];
    for (const [what, damage, detail] of cases) {
      const dir = await tempDir(`unilab-${what}-`);
      await mkdir(dir, { recursive: true });
      await copyFile(join(intact, 'unilab.db'), join(dir, 'unilab.db'));
      await damage(join(dir, 'unilab.db'));
      const refused = start(dir);
      await expect(refused, what).rejects.toThrow(new RegExp(`^the job store ${join(dir, 'unilab.db').replace(/[.]/g, '\\.')} is damaged `));
      await expect(refused, what).rejects.toThrow(detail);
      await expect(refused, what).rejects.toThrow(/refusing to start on it, since it would lose or hide its jobs/);
    }
    const healthy = await start(intact);
    try {
      expect((await new ApiClient(healthy.url, TOKEN).jobs()).length).toBe(40);
    } finally {
      await healthy.close();
    }
  });
});
