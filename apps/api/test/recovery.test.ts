import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JobManager } from '../src/jobs.ts';
import { nodeRuntime } from '../src/node/runtime.ts';
import { JobStore } from '../src/store.ts';
import type { ToWorker, WorkerHandle } from '../src/worker-protocol.ts';
import { removeTempDirs, tempDir } from './helpers.ts';

afterAll(removeTempDirs);

/** A worker that takes its job and never reports back, as a job does while it brings the whole server down. */
function silentWorker(posted: ToWorker[]): WorkerHandle {
  return { post: (m) => void posted.push(m), onMessage() {}, onCrash() {}, terminate: async () => {} };
}

describe('recovery after the server died under a job', () => {
  it('resumes a job the server died under, but fails it with the reason after maxInterruptedRuns runs in a row', async () => {
    const store = new JobStore(await nodeRuntime.openDatabase(join(await tempDir('unilab-recovery-'), 'unilab.db')));
    const posted: ToWorker[] = [];
    // Each server: a new manager over the same store; dropping it without close() is the kill -9.
    const server = () => new JobManager(store, () => silentWorker(posted), { maxConcurrentJobs: 1, shutdownGraceMs: 0, maxInterruptedRuns: 3, pluginConfig: null });
    const admitted = { name: 'crashes-the-server', totalSteps: 10, stageCount: 1, runSpec: {}, outDir: '/tmp/unused' };
    server().submit('job_a', {}, admitted);
    expect(store.getJob('job_a')!.status).toBe('running');

    const statuses = () => store.statusEvents('job_a').map((e) => `${e.status}${e.interruptedRuns ? ` ${e.interruptedRuns}` : ''}`);
    server().recover(true);
    server().recover(true);
    expect(store.getJob('job_a')!.status).toBe('running');
    expect(posted.filter((m) => m.type === 'train').map((m) => (m as { resume: boolean }).resume)).toEqual([false, true, true]);

    // The third death: the job fails with the reason instead of taking the next server down again.
    server().recover(true);
    const failed = store.getJob('job_a')!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/^the server stopped 3 times in a row while the job ran \(last step reported 0; .*maxInterruptedRuns 3.*resume tries again$/);
    expect(statuses()).toEqual(['queued', 'running', 'interrupted 1', 'queued', 'running', 'interrupted 2', 'queued', 'running', 'failed 3']);
    server().recover(true);
    expect(store.getJob('job_a')!.status).toBe('failed');
    expect(posted.filter((m) => m.type === 'train')).toHaveLength(3);

    // A client's resume gives it a fresh count.
    const manager = server();
    manager.resume('job_a');
    expect(store.getJob('job_a')!.status).toBe('running');
    server().recover(true);
    expect(store.getJob('job_a')!.status).toBe('running');
    expect(statuses().slice(-4)).toEqual(['running', 'interrupted 1', 'queued', 'running']);
    store.close();
  });
});
