import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAlignmentJobSpec, runAlignmentJob, type AlignmentJobEvent } from '@unilab/eval';
import { createDefaultRegistry, parseTrainingSpec, runTraining } from '@unilab/runner';
import { ApiClient } from '../src/client.ts';
import { TOKEN, followToEnd, followUntil, killServer, makeDataDir, removeTempDirs, spawnServer, tinySpec, waitForJob } from './helpers.ts';

const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) await killServer(child);
  await removeTempDirs();
});

async function serve(dataDir: string) {
  const spawned = await spawnServer(['npx', 'tsx', '--conditions=development', 'apps/cli/src/main.ts', 'serve', '--data-dir', dataDir, '--port', '0'], { UNILAB_API_TOKEN: TOKEN });
  children.push(spawned.child);
  return { ...spawned, client: new ApiClient(spawned.url, TOKEN) };
}


describe('alignment job crash safety', () => {
  it('kill -9 mid-DPO (LoRA, after SFT): the restart resumes the stage at its newest checkpoint, and the job ends with the bits of an uninterrupted run', async () => {
    const dataDir = await makeDataDir();
    // The base: a tiny decoder pre-trained in this process into the data directory (the spec names its checkpoint file).
    const registry = createDefaultRegistry();
    const pretrained = tinySpec({ name: 'align-base', train: { steps: 12, seqLen: 64 } });
    const baseRun = await runTraining({ spec: parseTrainingSpec({ ...pretrained, data: { ...pretrained.data, corpus: join(dataDir, 'corpora/sotu-small') } }), outDir: join(dataDir, 'base'), registry });
    baseRun.dispose();
    const basePath = baseRun.checkpoint!;
    const first = await serve(dataDir);
    const spec = {
      kind: 'align',
      name: 'align-crash',
      base: { checkpoint: 'base/checkpoints/step-00000012.safetensors' },
      data: { generate: { tasks: ['copy', 'reverse'], train: 8, heldOut: 4, noise: 0.2, seed: 3 } },
      checkpointEvery: 3,
      evaluation: { verifierExamples: 1, maxTokens: 6 },
      stages: [
        { kind: 'sft', epochs: 3, batchSize: 2, lr: 3e-3 },
        { kind: 'dpo', epochs: 2, batchSize: 2, beta: 0.5, lr: 0.02, tuning: { method: 'lora', rank: 2, targets: ['wq', 'wv'] } },
      ],
    };
    const job = await first.client.submit(spec);
    expect(job.totalSteps).toBe(24 + 16);
    // kill -9 in the second stage, after its first checkpoint (step 3): the restart must find the stage, rebuild DPO's
    // reference from the SFT checkpoint and restore the LoRA factors' moments.
    await followUntil(first.client, job.id, (type, d) => type === 'step' && d.stage === 1 && d.step >= 5);
    await killServer(first.child, 'SIGKILL');

    const second = await serve(dataDir);
    await waitForJob(() => second.client.job(job.id), (j) => j.status === 'completed' || j.status === 'failed', 120_000);
    const events = await followToEnd(second.client, job.id);
    expect(events.at(-1)!.data).toMatchObject({ status: 'completed', step: 40 });
    const interrupted = events.filter((e) => e.type === 'status' && e.data.status === 'interrupted').map((e) => e.data);
    expect(interrupted).toHaveLength(1);
    expect(interrupted[0].step).toBeGreaterThanOrEqual(24 + 5);
    const resumed = events.filter((e) => e.type === 'start' && e.data.resumedFrom !== null).map((e) => e.data);
    expect(resumed.map((s) => s.stage)).toEqual([1]);
    expect(resumed[0].startStep).toBeGreaterThanOrEqual(3);
    expect(resumed[0].startStep).toBeLessThan(16);
    // (It may be past the last step the store heard of: a checkpoint whose atomic write finished just before the kill.)

    // The uninterrupted run, in this process, on the same base checkpoint.
    const checkpoints = async (id: string) => (await second.client.json<{ checkpoints: { path: string }[] }>('GET', `/v1/jobs/${id}/checkpoints`)).checkpoints;
    const straight: AlignmentJobEvent[] = [];
    const outcome = await runAlignmentJob({
      job: parseAlignmentJobSpec({ ...spec, base: { checkpoint: basePath } }),
      base: basePath,
      outDir: join(dataDir, 'uninterrupted'),
      registry,
      onEvent: (e) => straight.push(e),
    });
    const served = join(dataDir, (await checkpoints(job.id)).at(-1)!.path);
    expect(outcome.status).toBe('completed');
    // Parameters, AdamW moments, step and position: the same bytes.
    expect(Buffer.compare(await readFile(served), await readFile((outcome as { checkpoint: string }).checkpoint))).toBe(0);
    const figures = (list: { type: string; data?: any }[]) => list.filter((e) => e.type === 'stage-complete').map((e) => e.data.figures);
    expect(figures(events)).toEqual(straight.filter((e) => e.type === 'stage-complete').map((e) => (e as { figures: unknown }).figures));
    console.log(
      `alignment kill -9 resume: killed at job step ${interrupted[0].step} (DPO step ${interrupted[0].step - 24}), resumed DPO from step ${resumed[0].startStep}; ` +
        `final checkpoint byte-identical to an uninterrupted run; DPO held-out figures ${JSON.stringify(figures(events)[1])}`,
    );
    await killServer(second.child, 'SIGTERM');
  });
});
