import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalReport } from '@unilab/eval';
import { ApiRequestError, type ApiClient, type EvalView } from '../src/client.ts';
import type { RunningServer } from '../src/server.ts';
import { REPO_ROOT, TOKEN, makeDataDir, removeTempDirs, startTestServer, tinySpec, waitForJob } from './helpers.ts';

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

async function refusal(send: () => Promise<unknown>): Promise<{ status: number; path?: string; message: string }> {
  try {
    await send();
  } catch (err) {
    if (err instanceof ApiRequestError) return { status: err.status, path: err.path, message: err.message };
    throw err;
  }
  throw new Error('the server accepted the request');
}

const raw = (method: string, path: string, body?: string, token: string | null = TOKEN) =>
  fetch(new URL(path, server.url), { method, body, headers: { ...(token && { Authorization: `Bearer ${token}` }), 'Content-Type': 'application/json' } });

async function evalDone(c: ApiClient, id: string, suite: string): Promise<EvalView> {
  return waitForJob(async () => (await c.evals(id)).find((e) => e.suite === suite)!, (e) => e.status === 'completed' || e.status === 'failed', 120_000);
}

describe('eval jobs: POST /v1/jobs/:id/eval, GET /v1/jobs/:id/eval', () => {
  it('evaluates a finished job in a worker and stores the report with the job, across a server restart', async () => {
    const job = await client.submit(tinySpec({ name: 'to-evaluate', backend: 'wasm' }));
    // Not before it has finished: a running job's checkpoint is still moving.
    expect(await refusal(() => client.evaluate(job.id, 'quick'))).toMatchObject({ status: 409, message: expect.stringMatching(/evaluate it once it has finished/) });
    await waitForJob(() => client.job(job.id), (j) => j.status === 'completed');

    const queued = await client.evaluate(job.id, 'quick');
    expect(queued).toMatchObject({ job: job.id, suite: 'quick', status: expect.stringMatching(/^(queued|running)$/), report: null });
    expect(queued.checkpoint).toMatch(/step-00000012\.safetensors$/);
    expect(await refusal(() => client.evaluate(job.id, 'quick'))).toMatchObject({ status: 409, message: expect.stringMatching(/already (queued|running)/) });

    // The server stops while the evaluation runs; the next server runs it again from the start.
    await server.close();
    ({ server, client } = await startTestServer(dataDir));
    const done = await evalDone(client, job.id, 'quick');
    expect(done.error).toBeNull();
    expect(done.status).toBe('completed');
    const report = done.report as EvalReport;
    expect(report).toMatchObject({ format: 'unilab-eval/1', suite: 'quick', checkpoint: queued.checkpoint, model: { architecture: 'decoder', objective: 'clm', seqLen: 16 } });
    // A 16-token context cannot hold the cloze's longest choices: that task is left out whole, with the reason.
    expect(report.fewShot!.skippedTasks).toEqual([{ task: 'last-word-cloze', reason: expect.stringMatching(/does not fit the model's context of 16 tokens/) }]);
    expect(report.fewShot!.results.map((r) => `${r.task}/${r.shots}`)).toEqual(['brown-genre', 'sotu-party', 'spam-ham'].flatMap((t) => [0, 1, 5].map((k) => `${t}/${k}`)));
    for (const r of report.fewShot!.results) {
      expect(r.acc.ci95[0]).toBeLessThanOrEqual(r.acc.value);
      expect(r.acc.ci95[1]).toBeGreaterThanOrEqual(r.acc.value);
      expect(r.chance).toBeGreaterThan(0);
    }
    expect(report.likelihood!.modes.results.map((m) => m.mode)).toEqual(['lm', 'infilling', 'seq2seq']);
    expect(report.likelihood!.bitsPerByte.domains.length).toBeGreaterThan(10);
    expect((await client.evals(job.id)).map((e) => [e.suite, e.status])).toEqual([['quick', 'completed']]);

    // Deleting the job takes its evaluations with it: a later job reusing nothing finds no stale report.
    await client.delete(job.id);
    expect(await refusal(() => client.evals(job.id))).toMatchObject({ status: 404 });
  });

  it('refuses to delete a job while one of its evaluations is queued or running, then deletes it and its reports', async () => {
    const job = await client.submit(tinySpec({ name: 'delete-while-evaluated', backend: 'wasm', train: { steps: 4, checkpointEvery: 0 } }));
    await waitForJob(() => client.job(job.id), (j) => j.status === 'completed');
    await client.evaluate(job.id, 'quick');
    expect(await refusal(() => client.delete(job.id))).toMatchObject({ status: 409, message: expect.stringMatching(/has an evaluation \(quick suite\) (queued|running)/) });
    await evalDone(client, job.id, 'quick');
    await client.delete(job.id);
    expect(await refusal(() => client.job(job.id))).toMatchObject({ status: 404 });
  });

  it('refuses bad requests with the field named, unknown jobs, and callers without the token', async () => {
    const job = await client.submit(tinySpec({ name: 'refusals', backend: 'wasm', train: { steps: 4, checkpointEvery: 0 } }));
    await waitForJob(() => client.job(job.id), (j) => j.status === 'completed');
    const path = `/v1/jobs/${job.id}/eval`;
    expect(await refusal(() => client.evaluate(job.id, 'full'))).toMatchObject({ status: 400, path: 'body.suite', message: expect.stringMatching(/expected one of default, quick, got "full"/) });
    expect(await refusal(() => client.evaluate(job.id, '../../etc/passwd'))).toMatchObject({ status: 400, path: 'body.suite' });
    expect(await refusal(() => client.json('POST', path, { suite: 'quick', checkpoint: '/etc/passwd' }))).toMatchObject({ status: 400, path: 'body.checkpoint', message: expect.stringMatching(/unknown field/) });
    expect(await refusal(() => client.json('POST', path, '{"suite":'))).toMatchObject({ status: 400, path: 'body', message: expect.stringMatching(/malformed JSON/) });
    expect(await refusal(() => client.json('POST', path, ['quick']))).toMatchObject({ status: 400, path: 'body' });
    expect(await refusal(() => client.json('POST', path, { suite: 'q'.repeat(5000) }))).toMatchObject({ status: 413 });
    expect(await refusal(() => client.evaluate('job_doesnotexist', 'quick'))).toMatchObject({ status: 404, message: expect.stringMatching(/no job with id "job_doesnotexist"/) });
    expect(await refusal(() => client.evals('job_doesnotexist'))).toMatchObject({ status: 404 });
    expect((await raw('POST', path, '{"suite":"quick"}', null)).status).toBe(401);
    expect((await raw('GET', path, undefined, 'wrong-token')).status).toBe(401);
    // Nothing was queued by any of these.
    expect(await client.evals(job.id)).toEqual([]);
  });

  it('unilab eval <job id> asks the server that ran the job, waits for the report, and prints and writes it', async () => {
    const job = await client.submit(tinySpec({ name: 'cli-eval', backend: 'wasm', train: { steps: 4, checkpointEvery: 0 } }));
    await waitForJob(() => client.job(job.id), (j) => j.status === 'completed');
    const json = join(dataDir, 'cli-eval.json');
    const { stdout } = await promisify(execFile)('npx', ['tsx', '--conditions=development', 'apps/cli/src/main.ts', 'eval', job.id, '--suite', 'quick', '--json', json], {
      cwd: REPO_ROOT,
      env: { ...process.env, UNILAB_API_TOKEN: TOKEN, UNILAB_SERVER: server.url },
    });
    const stored = (await client.evals(job.id))[0];
    expect(stored.status).toBe('completed');
    expect(JSON.parse(await readFile(json, 'utf8'))).toEqual(JSON.parse(JSON.stringify(stored.report)));
    expect(stdout).toContain('decoder trained by clm');
    expect(stdout).toMatch(/\n +brown-genre +0 +32 +\d\.\d{3} +\[\d\.\d{3}, \d\.\d{3}\]/);
  });
});
