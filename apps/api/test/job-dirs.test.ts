import { existsSync, realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDefaultRegistry, parseJobSpec, runStages } from '@unilab/runner';
import { ApiRequestError, type ApiClient } from '../src/client.ts';
import { nodeRuntime } from '../src/node/runtime.ts';
import type { RunningServer } from '../src/server.ts';
import { followToEnd, makeDataDir, removeTempDirs, startTestServer, tempDir, tinySpec, waitForJob } from './helpers.ts';

const STALL_PLUGIN = join(import.meta.dirname, 'fixtures', 'stall-objective.ts');
const CANCEL_GRACE_MS = 1500;

let dataDir: string;
let configFile: string;
let server: RunningServer;
let client: ApiClient;

/** A server on the shared data directory: a short cancel grace, and a shutdown that waits for no job. */
const start = (overrides: Record<string, unknown> = {}) => startTestServer(dataDir, { cancelGraceMs: CANCEL_GRACE_MS, shutdownGraceMs: 300, ...overrides }, configFile);

beforeAll(async () => {
  dataDir = await makeDataDir();
  configFile = join(dataDir, 'unilab.config.json');
  await writeFile(configFile, JSON.stringify({ plugins: [STALL_PLUGIN] }));
  ({ server, client } = await start());
});

afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

const quick = (name: string, outDir?: string) => ({ ...tinySpec({ name, train: { steps: 2, checkpointEvery: 2 } }), ...(outDir && { outDir }) });
/** A job whose seventh training batch never comes: its worker blocks and hears no cancel. */
const stalling = (name: string, outDir?: string) => ({
  ...tinySpec({ name, train: { steps: 100, checkpointEvery: 3 } }),
  objective: { name: 'stall-clm', config: { stallAfterBatches: 6 } },
  ...(outDir && { outDir }),
});

/** Wait until a stalling job has finished step 6 and its checkpoint, and its worker has had a moment to block in step 7. */
async function untilBlocked(id: string): Promise<void> {
  await waitForJob(
    () => client.json<{ checkpoints: { globalStep: number }[] }>('GET', `/v1/jobs/${id}/checkpoints`).then((r) => ({ ...r, status: '' })),
    (r) => r.checkpoints.some((k) => k.globalStep === 6),
  );
  await new Promise((r) => setTimeout(r, 500));
}

async function refusal(promise: Promise<unknown>): Promise<ApiRequestError> {
  const err = await promise.then(
    () => null,
    (e) => e,
  );
  if (!(err instanceof ApiRequestError)) throw new Error(`expected a refusal, got ${err}`);
  return err;
}

describe('jobs own their directories', () => {
  it('two jobs never share an out directory, even submitted at the same moment, nor nest one in the other', async () => {
    const both = await Promise.allSettled([client.submit(quick('first', 'runs/shared')), client.submit(quick('second', 'runs/shared'))]);
    const accepted = both.filter((r) => r.status === 'fulfilled');
    const refused = both.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as ApiRequestError);
    expect(accepted).toHaveLength(1);
    const owner = (accepted[0] as PromiseFulfilledResult<{ id: string }>).value.id;
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ status: 409, path: 'spec.outDir', message: `the output directory is job ${owner}'s, or inside or around it; every job needs a directory of its own` });
    expect(await refusal(client.submit(quick('inside', 'runs/shared/inner')))).toMatchObject({ status: 409, path: 'spec.outDir' });
    // Around it: 409 from the reservation, or 400 once the first job has made its directory (no longer empty).
    const around = await refusal(client.submit(quick('around', 'runs')));
    expect([400, 409]).toContain(around.status);
    expect(around.path).toBe('spec.outDir');
    expect(['queued', 'running']).toContain((await client.submit(quick('beside', 'runs/beside'))).status);
    await waitForJob(() => client.jobs(), (jobs) => jobs.every((j) => j.status === 'completed'));
  });

  it('a resume refuses a directory whose progress file belongs to another job', async () => {
    const outDir = join(await tempDir('unilab-owned-'), 'run');
    const job = parseJobSpec({ ...quick('owned'), data: { corpus: join(dataDir, 'corpora/sotu-small'), heldOutFraction: 0.2 } });
    const registry = createDefaultRegistry();
    await runStages({ job, outDir, registry, owner: 'job_aaaaaaaaaaaaaaaa' });
    await expect(runStages({ job, outDir, registry, resume: true, owner: 'job_bbbbbbbbbbbbbbbb' })).rejects.toThrow(
      `cannot resume: the progress file in ${outDir} belongs to job job_aaaaaaaaaaaaaaaa, not to job job_bbbbbbbbbbbbbbbb`,
    );
    expect((await runStages({ job, outDir, registry, resume: true, owner: 'job_aaaaaaaaaaaaaaaa' })).status).toBe('completed');
  });

  it('a job that does not reach a step boundary within the grace period is stopped hard, cancelled where it was', async () => {
    const job = await client.submit(stalling('stalls', 'runs/stall'));
    await untilBlocked(job.id);
    const asked = Date.now();
    expect((await client.cancel(job.id)).status).toBe('running');
    const stopped = await waitForJob(() => client.job(job.id), (j) => j.status === 'cancelled', 20_000);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(CANCEL_GRACE_MS - 50);
    expect(stopped.step).toBe(6);
    const events = await followToEnd(client, job.id);
    expect(events.at(-1)!.data).toMatchObject({
      status: 'cancelled',
      stoppedHard: true,
      step: 6,
      checkpointStep: 6,
      message: `cancelled: the job did not reach a step boundary within ${CANCEL_GRACE_MS} ms, so its worker was stopped at step 6; a resume continues from its newest intact checkpoint (step 6)`,
    });
    // The worker slot is free again: the next job runs to the end.
    const next = await client.submit(quick('after-hard-stop'));
    expect((await followToEnd(client, next.id)).at(-1)!.data.status).toBe('completed');
  });

  it('DELETE removes a finished job and its files, refuses a running or queued one, and frees its directory', async () => {
    const [stalled] = await client.jobs('cancelled');
    const dir = join(realpathSync(dataDir), 'runs/stall');
    expect(existsSync(dir)).toBe(true);

    const running = await client.submit(stalling('running'));
    const queued = await client.submit(quick('queued'));
    await waitForJob(() => client.job(running.id), (j) => j.status === 'running');
    for (const id of [running.id, queued.id])
      expect(await refusal(client.delete(id))).toMatchObject({ status: 409, message: expect.stringMatching(/is (running|queued); cancel it first, then delete it$/) });

    expect(await client.delete(stalled.id)).toEqual({ id: stalled.id, object: 'job', deleted: true });
    expect(existsSync(dir)).toBe(false);
    expect(await refusal(client.job(stalled.id))).toMatchObject({ status: 404 });
    expect(await refusal(client.delete(stalled.id))).toMatchObject({ status: 404 });
    expect((await client.jobs()).map((j) => j.id)).not.toContain(stalled.id);
    const openapi = await (await fetch(`${server.url}/openapi.json`)).json();
    expect(Object.keys(openapi.paths['/v1/jobs/{id}'].delete.responses)).toEqual(expect.arrayContaining(['200', '404', '409']));
    // Its directory is free for a new job.
    const reuse = await client.submit(quick('reuse', 'runs/stall'));
    await client.cancel(reuse.id);
    await client.cancel(queued.id);
  });

  it('a cancel is stored: neither a shutdown nor a crash before the step boundary brings the job back', async () => {
    const [running] = await client.jobs('running');
    expect(running.name).toBe('running');
    await untilBlocked(running.id);
    await client.cancel(running.id);
    // Shut down at once (the job is blocked inside a step; the hard stop has not come yet).
    await server.close();
    ({ server, client } = await start());
    expect(await client.job(running.id)).toMatchObject({ status: 'cancelled' });
    await server.close();

    // A crash (kill -9) leaves the job marked running with its cancel request: the next start does not resume it.
    const db = await nodeRuntime.openDatabase(join(dataDir, 'unilab.db'));
    db.run("UPDATE jobs SET status = 'running', finished_at = NULL WHERE id = ?", [running.id]);
    db.close();
    ({ server, client } = await start());
    const after = await client.job(running.id);
    expect(after.status).toBe('cancelled');
    const events = await followToEnd(client, running.id);
    expect(events.at(-1)!.data.message).toMatch(/^cancelled: the server stopped before the job reached a step boundary/);
  });
});
