import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../src/client.ts';
import type { RunningServer } from '../src/server.ts';
import { TOKEN, followToEnd, makeDataDir, removeTempDirs, startTestServer, tempDir, tinySpec, waitForJob } from './helpers.ts';

// Alignment jobs (kind "align") over the HTTP API, on a tiny decoder pre-trained here by the same server on State of
// the Union text, with the instruction and preference set `unilab align data` builds from the bundled corpora.
let dataDir: string;
let server: RunningServer;
let client: ApiClient;
let baseJob: string;

beforeAll(async () => {
  dataDir = await makeDataDir();
  ({ server, client } = await startTestServer(dataDir, { maxStepsPerJob: 5000 }));
  const base = await client.submit(tinySpec({ name: 'align-base', train: { steps: 12, seqLen: 64 } }));
  baseJob = base.id;
  await waitForJob(() => client.job(baseJob), (j) => j.status === 'completed');
});

afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

/** An alignment spec on the base job with a small generated set (copy and reverse: short prompts). */
function alignSpec(stages: unknown[], extra: Record<string, unknown> = {}) {
  return {
    kind: 'align',
    name: 'align-tiny',
    base: { job: baseJob },
    data: { generate: { tasks: ['copy', 'reverse'], train: 8, heldOut: 4, noise: 0.2, seed: 1 } },
    checkpointEvery: 2,
    evaluation: { verifierExamples: 2, maxTokens: 8 },
    stages,
    ...extra,
  };
}

describe('alignment jobs over the API', () => {
  it("a stage whose batch would need more memory than maxJobMemoryBytes is refused at its batchSize, estimated from the base model's config", async () => {
    const limited = await tempDir('unilab-api-limits-');
    const checkpoint = (await client.json<{ checkpoints: { path: string }[] }>('GET', `/v1/jobs/${baseJob}/checkpoints`)).checkpoints.at(-1)!.path;
    await copyFile(join(dataDir, checkpoint), join(limited, 'base.safetensors'));
    const small = await startTestServer(limited, { maxJobMemoryBytes: 8 * 2 ** 20 });
    try {
      const spec = (batchSize: number) => alignSpec([{ kind: 'sft', epochs: 1, batchSize }, { kind: 'dpo', batchSize }], { base: { checkpoint: 'base.safetensors' } });
      await expect(small.client.submit(spec(512))).rejects.toMatchObject({ status: 400, path: 'spec.stages[0].batchSize', message: expect.stringMatching(/at most 8 MiB per job \(maxJobMemoryBytes\)/) });
      const admitted = await small.client.submit(spec(4));
      expect(admitted.totalSteps).toBe(4 + 4);
      await small.client.cancel(admitted.id);
    } finally {
      await small.server.close();
    }
  });

  it('sft → dpo: stages, step figures, checkpoints and held-out figures arrive over SSE; the DPO policy serves completions', async () => {
    const submitted = await client.submit(
      alignSpec([
        { kind: 'sft', epochs: 2, batchSize: 4, lr: 3e-3 },
        { kind: 'dpo', beta: 0.5, lr: 1e-3, batchSize: 4, tuning: { method: 'lora', rank: 4, targets: ['query', 'value', 'wo'] } },
      ]),
    );
    // 16 demonstrations / 4 x 2 epochs, then 16 comparisons / 4 x 1 epoch.
    expect(submitted).toMatchObject({ totalSteps: 12, stage: { count: 2 } });
    const events = await followToEnd(client, submitted.id);

    const stages = events.filter((e) => e.type === 'stage').map((e) => e.data);
    expect(stages.map((s) => [s.stage, s.name, s.attempt, s.steps, s.globalStart])).toEqual([
      [0, 'sft', 0, 8, 0],
      [1, 'dpo', 0, 4, 8],
    ]);
    const sftDone = events.find((e) => e.type === 'stage-complete' && e.data.stage === 0)!.data;
    // DPO starts from SFT's final checkpoint, which is also its frozen reference.
    expect(stages[1].initFrom).toBe(sftDone.checkpoint);
    const starts = events.filter((e) => e.type === 'start').map((e) => e.data);
    expect(starts[0]).toMatchObject({ tuning: 'full', trainExamples: 16, heldOutExamples: 8 });
    expect(starts[0].trainedParameters).toBe(starts[0].parameters);
    // LoRA on three projections of one layer (two named by role, one by the decoder's name; each 16 x 16): the
    // factors alone train, r x (16 + 16) each.
    expect(starts[1].tuning).toBe('lora');
    expect(starts[1].trainedParameters).toBe(3 * 4 * (16 + 16));

    const steps = events.filter((e) => e.type === 'step').map((e) => e.data);
    expect(steps.map((s) => s.globalStep)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const dpoSteps = steps.filter((s) => s.stage === 1);
    // DPO's first step: policy = reference, so every log-ratio is 0 and the loss is ln 2.
    expect(dpoSteps[0].loss).toBeCloseTo(Math.LN2, 6);
    for (const s of dpoSteps) for (const k of ['accuracy', 'margin', 'lr']) expect(Number.isFinite(s[k]), k).toBe(true);

    const evals = events.filter((e) => e.type === 'eval').map((e) => e.data);
    expect(Object.keys(evals[0].figures).sort()).toEqual(['heldOutNll', 'verifierSuccess']);
    expect(Object.keys(evals[1].figures).sort()).toEqual(['heldOutAccuracy', 'heldOutLoss', 'heldOutMargin', 'verifierSuccess']);
    expect(evals[1].figures.heldOutAccuracy).toBeGreaterThanOrEqual(0);
    expect(events.filter((e) => e.type === 'checkpoint').map((e) => [e.data.stage, e.data.step])).toEqual([
      [0, 2],
      [0, 4],
      [0, 6],
      [0, 8],
      [1, 2],
      [1, 4],
    ]);
    expect(events.at(-1)!.data).toMatchObject({ status: 'completed', step: 12 });
    const done = await client.job(submitted.id);
    expect(done).toMatchObject({ status: 'completed', step: 12, stage: { index: 1, name: 'dpo' } });
    // The job keeps each stage's results: its held-out figures and the checkpoint it ended with.
    expect((done as unknown as { results: unknown[] }).results).toEqual([
      { stage: 0, name: 'sft', attempt: 0, globalStep: 8, checkpoint: sftDone.checkpoint, figures: evals[0].figures },
      { stage: 1, name: 'dpo', attempt: 0, globalStep: 12, checkpoint: expect.stringMatching(/stage-1-dpo\/attempt-0\/checkpoints\/step-00000004\.safetensors$/), figures: evals[1].figures },
    ]);
    expect(done.metrics.heldOutLoss).toBe(evals[1].heldOutLoss);

    const metrics = (await client.json<{ metrics: { globalStep: number; loss: number | null }[] }>('GET', `/v1/jobs/${submitted.id}/metrics`)).metrics;
    expect(metrics.filter((m) => m.loss !== null).map((m) => m.globalStep)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // The aligned model (its LoRA factors rebuilt from the checkpoint header) serves completions, as a pre-trained one does.
    const completion = await client.json<{ model: string; choices: { text: string }[] }>('POST', '/v1/completions', {
      model: submitted.id,
      prompt: 'Reverse: house\nAnswer:',
      max_tokens: 8,
      temperature: 0,
    });
    expect(completion.model).toBe(submitted.id);
    expect(completion.choices[0].text.length).toBeGreaterThan(0);
  });

  it('sft → rm → ppo: PPO iterations report reward, KL, entropy, clip fraction and value loss; its gate checks the held-out KL; the PPO policy serves completions', async () => {
    const submitted = await client.submit(
      alignSpec([
        { kind: 'sft', epochs: 1, batchSize: 4, lr: 3e-3 },
        { kind: 'rm', epochs: 1, batchSize: 4 },
        { kind: 'ppo', iterations: 3, rolloutsPerIteration: 4, minibatchSize: 2, maxTokens: 6, epochs: 1, lr: 1e-3, gate: { metric: 'kl', threshold: 5, action: 'stop' } },
      ]),
    );
    expect(submitted).toMatchObject({ totalSteps: 4 + 4 + 3, stage: { count: 3 } });
    const events = await followToEnd(client, submitted.id);
    expect(events.filter((e) => e.type === 'stage').map((e) => [e.data.name, e.data.globalStart])).toEqual([
      ['sft', 0],
      ['rm', 4],
      ['ppo', 8],
    ]);
    const sftDone = events.find((e) => e.type === 'stage-complete' && e.data.name === 'sft')!.data;
    // Policy and reference of PPO are the SFT model (not the reward model the stage before made).
    expect(events.find((e) => e.type === 'stage' && e.data.name === 'ppo')!.data.initFrom).toBe(sftDone.checkpoint);
    expect(events.filter((e) => e.type === 'reward-checkpoint').map((e) => e.data.step)).toEqual([2, 4]);
    const ppoSteps = events.filter((e) => e.type === 'step' && e.data.stage === 2).map((e) => e.data);
    expect(ppoSteps.map((s) => s.globalStep)).toEqual([9, 10, 11]);
    for (const s of ppoSteps) for (const k of ['reward', 'kl', 'beta', 'entropy', 'clipFraction', 'valueLoss', 'approxKl']) expect(Number.isFinite(s[k]), k).toBe(true);
    const ppoEval = events.find((e) => e.type === 'eval' && e.data.stage === 2)!.data;
    expect(Object.keys(ppoEval.figures).sort()).toEqual(['kl', 'reward', 'verifierSuccess']);
    expect(events.find((e) => e.type === 'gate')!.data).toMatchObject({ metric: 'kl', comparison: '<=', passed: true, next: 'continue', value: ppoEval.figures.kl });
    expect(events.at(-1)!.data).toMatchObject({ status: 'completed', step: 11 });
    const served = (await client.json<{ checkpoints: { stage: number; step: number }[] }>('GET', `/v1/jobs/${submitted.id}/checkpoints`)).checkpoints;
    expect(served.at(-1)).toMatchObject({ stage: 2, step: 3 });
    const completion = await client.json<{ choices: { text: string }[] }>('POST', '/v1/completions', { model: submitted.id, prompt: 'Copy: the old house\nAnswer:', max_tokens: 6, temperature: 0 });
    expect(completion.choices[0].text.length).toBeGreaterThan(0);
  });

  it('a failing gate retries the stage with a new seed, then fails the job naming the stage and the metric; a stop gate stops it with its model kept', async () => {
    const retried = await client.submit(alignSpec([{ kind: 'sft', epochs: 1, batchSize: 8, gate: { metric: 'heldOutNll', threshold: 0.001, action: 'retry', maxRetries: 1 } }]));
    const events = await followToEnd(client, retried.id);
    const stages = events.filter((e) => e.type === 'stage').map((e) => e.data);
    expect(stages.map((s) => [s.name, s.attempt, s.globalStart])).toEqual([
      ['sft', 0, 0],
      ['sft', 1, 0],
    ]);
    expect(stages[1].seed).not.toBe(stages[0].seed);
    expect(events.filter((e) => e.type === 'gate').map((e) => [e.data.attempt, e.data.metric, e.data.comparison, e.data.passed, e.data.next])).toEqual([
      [0, 'heldOutNll', '<=', false, 'retry'],
      [1, 'heldOutNll', '<=', false, 'fail'],
    ]);
    expect(events.at(-1)!.data).toMatchObject({ status: 'failed', message: expect.stringMatching(/stage "sft": gate heldOutNll <= 0.001 still failed after 2 attempts/) });

    const stopped = await client.submit(
      alignSpec([
        { kind: 'sft', epochs: 1, batchSize: 8 },
        { kind: 'rm', epochs: 1, batchSize: 8, gate: { metric: 'heldOutAccuracy', threshold: 1.01, action: 'stop' } },
      ]),
    );
    const stopEvents = await followToEnd(client, stopped.id);
    expect(stopEvents.filter((e) => e.type === 'gate').map((e) => [e.data.metric, e.data.comparison, e.data.passed, e.data.next])).toEqual([['heldOutAccuracy', '>=', false, 'stop']]);
    // The reward model's checkpoints resume its stage but are no policy: completions serve the SFT model.
    expect(stopEvents.filter((e) => e.type === 'reward-checkpoint').map((e) => e.data.step)).toEqual([2]);
    const last = stopEvents.at(-1)!.data;
    expect(last).toMatchObject({ status: 'stopped', message: expect.stringMatching(/stage "rm": gate heldOutAccuracy >= 1.01 failed/) });
    const sftFinal = stopEvents.find((e) => e.type === 'stage-complete' && e.data.name === 'sft')!.data.checkpoint;
    const servable = (await client.json<{ checkpoints: { path: string }[] }>('GET', `/v1/jobs/${stopped.id}/checkpoints`)).checkpoints;
    expect(servable.map((c) => c.path).at(-1)).toBe(sftFinal);
    const completion = await client.json<{ choices: { text: string }[] }>('POST', '/v1/completions', { model: stopped.id, prompt: 'Copy: the old house\nAnswer:', max_tokens: 4 });
    expect(completion.choices).toHaveLength(1);
  });

  it("an SFT job on the user's JSONL files trains, and judges verifier success by the held-out demonstrations' answers", async () => {
    await mkdir(join(dataDir, 'mine'), { recursive: true });
    const words = ['stone river', 'old house', 'green field', 'cold winter', 'long road', 'quiet town', 'dark sea', 'high wall', 'red door', 'east wind', 'new bridge', 'warm bread'];
    const line = (w: string, i: number) => JSON.stringify({ task: i % 2 ? 'copy' : 'copy-again', prompt: `Copy: ${w}\nAnswer:`, response: ` ${w}` });
    await writeFile(join(dataDir, 'mine', 'train.jsonl'), words.slice(0, 8).map(line).join('\n') + '\n');
    await writeFile(join(dataDir, 'mine', 'held-out.jsonl'), words.slice(8).map(line).join('\n') + '\n');
    const job = await client.submit(
      alignSpec([{ kind: 'sft', epochs: 2, batchSize: 4, gate: { metric: 'verifierSuccess', threshold: 0, action: 'stop' } }], {
        data: { files: { sft: { train: 'mine/train.jsonl', heldOut: 'mine/held-out.jsonl' } } },
      }),
    );
    expect(job.totalSteps).toBe(4);
    const events = await followToEnd(client, job.id);
    expect(events.find((e) => e.type === 'start')!.data).toMatchObject({ trainExamples: 8, heldOutExamples: 4 });
    const gate = events.find((e) => e.type === 'gate')!.data;
    expect(gate).toMatchObject({ metric: 'verifierSuccess', comparison: '>=', passed: true });
    expect(gate.value).toBeGreaterThanOrEqual(0);
    expect(events.at(-1)!.data).toMatchObject({ status: 'completed', step: 4 });
  });

  it('refuses bad alignment specs with a 400 naming the field, before anything runs', async () => {
    await mkdir(join(dataDir, 'align'), { recursive: true });
    await writeFile(join(dataDir, 'align', 'good.jsonl'), '{"prompt":"Copy: a b\\nAnswer:","response":" a b"}\n');
    await writeFile(join(dataDir, 'align', 'bad.jsonl'), '{"prompt":"Copy: a b\\nAnswer:","response":" a b"}\n{"prompt":"x","response":3}\n');
    await symlink('/etc', join(dataDir, 'align', 'etc-link'));
    const files = (sft: Record<string, string>, stages: unknown[] = [{ kind: 'sft' }]) => alignSpec(stages, { data: { files: { sft } } });
    const cases: [unknown, string, RegExp][] = [
      [alignSpec([{ kind: 'rm' }, { kind: 'ppo' }]), 'spec.stages', /every pipeline starts with sft/],
      [alignSpec([{ kind: 'sft' }, { kind: 'ppo' }]), 'spec.stages', /ppo needs a reward model/],
      [alignSpec([{ kind: 'sft' }, { kind: 'dpo' }, { kind: 'rm' }]), 'spec.stages', /allowed: sft; sft → dpo; sft → rm; sft → rm → ppo/],
      [alignSpec([{ kind: 'sft', lr: 'fast' }]), 'spec.stages[0].lr', /expected a number > 0/],
      [alignSpec([{ kind: 'sft', beta: 0.1 }]), 'spec.stages[0].beta', /unknown field/],
      [alignSpec([{ kind: 'grpo' }]), 'spec.stages[0].kind', /expected one of "sft", "rm", "dpo", "ppo"/],
      [alignSpec([{ kind: 'sft', tuning: { method: 'full', rank: 4 } }]), 'spec.stages[0].tuning.rank', /only with method "lora"/],
      [
        alignSpec([{ kind: 'sft' }, { kind: 'dpo', tuning: { method: 'lora', targets: ['query', 'w_qkv'] } }]),
        'spec.stages[1].tuning.targets[1]',
        /LoRA target "w_qkv" is no projection of architecture "decoder"; it declares query \(wq\), key \(wk\), value \(wv\), output \(wo\), /,
      ],
      [alignSpec([{ kind: 'sft', tuning: { method: 'lora', targets: [''] } }]), 'spec.stages[0].tuning.targets[0]', /expected a non-empty string/],
      [alignSpec([{ kind: 'sft', tuning: { method: 'lora', targets: 'wq' } }]), 'spec.stages[0].tuning.targets', /expected a list/],
      [alignSpec([{ kind: 'sft', gate: { metric: 'heldOutAccuracy', threshold: 1, action: 'stop' } }]), 'spec.stages[0].gate.metric', /expected one of "heldOutNll", "verifierSuccess"/],
      [alignSpec([{ kind: 'sft' }], { base: { checkpoint: '../../etc/passwd' } }), 'spec.base.checkpoint', /outside it/],
      [alignSpec([{ kind: 'sft' }], { base: { checkpoint: 'align/good.jsonl' } }), 'spec.base.checkpoint', /expected a unilab model checkpoint/],
      [alignSpec([{ kind: 'sft' }], { base: { job: 'job_nope' } }), 'spec.base.job', /no job with id "job_nope"/],
      [alignSpec([{ kind: 'sft' }], { base: { job: baseJob, checkpoint: 'x' } }), 'spec.base', /exactly one of/],
      [alignSpec([{ kind: 'sft' }], { data: { generate: { tasks: ['poetry'] } } }), 'spec.data.generate.tasks[0]', /expected one of "copy"/],
      [files({ train: '/etc/hostname', heldOut: 'align/good.jsonl' }), 'spec.data.files.sft.train', /outside it/],
      [files({ train: 'align/etc-link/hostname', heldOut: 'align/good.jsonl' }), 'spec.data.files.sft.train', /links outside the data directory/],
      [alignSpec([{ kind: 'sft' }], { base: { checkpoint: 'align/etc-link/passwd' } }), 'spec.base.checkpoint', /links outside the data directory/],
      [alignSpec([{ kind: 'sft' }], { outDir: '../escape' }), 'spec.outDir', /outside it/],
      [files({ train: 'align/good.jsonl', heldOut: 'align/bad.jsonl' }), 'spec.data.files.sft.heldOut', /line 2: field "response" must be a string/],
      [files({ train: 'align/good.jsonl', heldOut: 'align/good.jsonl' }, [{ kind: 'sft' }, { kind: 'dpo' }]), 'spec.data.files.pairs', /the dpo stage \(spec.stages\[1\]\) trains on comparisons/],
      [alignSpec([{ kind: 'sft', epochs: 1000, batchSize: 1 }]), 'spec.stages', /at most \d+ \(maxStepsPerJob\)/],
      [alignSpec([{ kind: 'sft' }, { kind: 'rm' }, { kind: 'ppo', minibatchSize: 0 }]), 'spec.stages[2].minibatchSize', /expected an integer >= 1/],
      [alignSpec([{ kind: 'sft' }, { kind: 'rm' }, { kind: 'ppo', kl: { kind: 'pid' } }]), 'spec.stages[2].kl.kind', /expected one of "adaptive", "fixed"/],
      [alignSpec([{ kind: 'sft' }, { kind: 'rm' }, { kind: 'ppo', gate: { metric: 'heldOutNll', threshold: 1, action: 'stop' } }]), 'spec.stages[2].gate.metric', /expected one of "kl", "reward", "verifierSuccess"/],
    ];
    for (const [spec, path, message] of cases) await expect(client.submit(spec), path).rejects.toMatchObject({ status: 400, path, message: expect.stringMatching(message) });
    // The cross-site guard and the bearer token stand before admission, whatever the job's kind.
    const body = JSON.stringify(alignSpec([{ kind: 'sft' }]));
    const foreign = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', Origin: 'http://evil.example' }, body });
    expect(foreign.status).toBe(403);
    expect((await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })).status).toBe(401);
    // The pre-training API is unchanged: a spec without kind "align" is a training spec, with its own errors.
    await expect(client.submit({ ...tinySpec(), kind: 'pretrain' })).rejects.toMatchObject({ status: 400, path: 'spec.kind' });
  });
});
