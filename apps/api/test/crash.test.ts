import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDefaultRegistry, parseJobSpec, runStages } from '@unilab/runner';
import { ApiClient } from '../src/client.ts';
import { TOKEN, followUntil, killServer, makeDataDir, removeTempDirs, spawnServer, startTestServer, tinySpec, waitForJob } from './helpers.ts';

const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) await killServer(child);
  await removeTempDirs();
});

async function serve(dataDir: string, ...flags: string[]) {
  const spawned = await spawnServer(
    ['npx', 'tsx', '--conditions=development', 'apps/cli/src/main.ts', 'serve', '--data-dir', dataDir, '--port', '0', ...flags],
    { UNILAB_API_TOKEN: TOKEN },
  );
  children.push(spawned.child);
  return { ...spawned, client: new ApiClient(spawned.url, TOKEN) };
}


const CHECKPOINT_EVERY = 20;
const STEPS = 200;

describe('crash safety', () => {
  it('kill -9 mid-training: on restart the job is interrupted and resumes from its last checkpoint, losing at most one interval', async () => {
    const dataDir = await makeDataDir();
    const spec = tinySpec({ name: 'crash', train: { steps: STEPS, checkpointEvery: CHECKPOINT_EVERY } });

    // Run 1: train until step 50, then kill -9 the whole server (its job worker dies with it).
    const first = await serve(dataDir);
    const job = await first.client.submit(spec);
    await followUntil(first.client, job.id, (type, d) => type === 'step' && d.globalStep >= 50);
    await killServer(first.child, 'SIGKILL');

    // Run 2 (auto-resume): the job shows as interrupted, then continues from its newest checkpoint.
    const second = await serve(dataDir);
    const seen = await followUntil(second.client, job.id, (type, d) => type === 'step' && d.globalStep >= 120);
    const firstKill = seen.find((e) => e.type === 'status' && e.data.status === 'interrupted')!.data;
    const firstRestart = seen.filter((e) => e.type === 'start').at(-1)!.data;
    expect(firstKill.step).toBeGreaterThanOrEqual(50);
    expect(firstRestart.resumedFrom).toMatch(/step-\d+\.safetensors$/);
    // The newest checkpoint the store had indexed, or a newer one whose atomic write finished just before the kill.
    expect(firstRestart.startStep).toBeGreaterThanOrEqual(firstKill.checkpointStep);
    expect(firstKill.step - firstRestart.startStep).toBeLessThanOrEqual(CHECKPOINT_EVERY);
    await killServer(second.child, 'SIGKILL');

    // Run 3 (no auto-resume): the job waits as interrupted until the resume route, then runs to the end.
    const third = await serve(dataDir, '--no-auto-resume');
    expect((await third.client.job(job.id)).status).toBe('interrupted');
    await third.client.resume(job.id);
    const rest = await followUntil(third.client, job.id, () => false);
    const secondKill = rest.filter((e) => e.type === 'status' && e.data.status === 'interrupted').at(-1)!.data;
    const secondRestart = rest.filter((e) => e.type === 'start').at(-1)!.data;
    expect(secondKill.step).toBeGreaterThanOrEqual(120);
    expect(secondRestart.startStep).toBeGreaterThanOrEqual(secondKill.checkpointStep);
    expect(secondKill.step - secondRestart.startStep).toBeLessThanOrEqual(CHECKPOINT_EVERY);
    const done = await waitForJob(() => third.client.job(job.id), (j) => j.status === 'completed');
    expect(done.step).toBe(STEPS);

    // Two kills later, the result is the one an uninterrupted run gets (resume is bit-identical).
    let straight = NaN;
    await runStages({
      job: parseJobSpec({ ...spec, data: { ...spec.data, corpus: join(dataDir, 'corpora/sotu-small') } }),
      outDir: join(dataDir, 'uninterrupted'),
      registry: createDefaultRegistry(),
      onEvent: (e) => e.type === 'stage-complete' && (straight = e.heldOutLoss),
    });
    expect(done.metrics.heldOutLoss).toBe(straight);

    console.log(
      `kill -9 resume figures: checkpoint every ${CHECKPOINT_EVERY} steps; ` +
        `kill 1 at step ${firstKill.step} -> interrupted, auto-resumed from step ${firstRestart.startStep} (lost ${firstKill.step - firstRestart.startStep}); ` +
        `kill 2 at step ${secondKill.step} -> interrupted, resumed via POST /resume from step ${secondRestart.startStep} (lost ${secondKill.step - secondRestart.startStep}); ` +
        `completed ${done.step}/${STEPS}, held-out loss ${done.metrics.heldOutLoss} = uninterrupted ${straight}`,
    );
  });

  it('a graceful shutdown checkpoints the running job where it is; the next server resumes it from exactly there', async () => {
    const dataDir = await makeDataDir();
    const first = await startTestServer(dataDir);
    const job = await first.client.submit(tinySpec({ name: 'graceful', train: { steps: 20_000, checkpointEvery: 1000 } }));
    await waitForJob(() => first.client.job(job.id), (j) => j.step >= 10);
    await first.server.close();

    const second = await startTestServer(dataDir, { autoResume: false });
    try {
      const stopped = await second.client.job(job.id);
      expect(stopped.status).toBe('interrupted');
      const checkpoints = (await second.client.json<{ checkpoints: { globalStep: number }[] }>('GET', `/v1/jobs/${job.id}/checkpoints`)).checkpoints;
      expect(checkpoints.at(-1)!.globalStep).toBe(stopped.step);
      await second.client.resume(job.id);
      await waitForJob(() => second.client.job(job.id), (j) => j.status === 'running' && j.step > stopped.step + 5);
      const metrics = (await second.client.json<{ metrics: { globalStep: number; loss: number | null }[] }>('GET', `/v1/jobs/${job.id}/metrics?limit=100000`)).metrics;
      const steps = metrics.filter((m) => m.loss !== null).map((m) => m.globalStep);
      // Every step exactly once: the resumed run went on at the step after the shutdown, losing and repeating none.
      expect(steps.slice(0, stopped.step + 5)).toEqual(Array.from({ length: stopped.step + 5 }, (_, i) => i + 1));
      await second.client.cancel(job.id);
      await waitForJob(() => second.client.job(job.id), (j) => j.status === 'cancelled');
    } finally {
      await second.server.close();
    }
  });
});
