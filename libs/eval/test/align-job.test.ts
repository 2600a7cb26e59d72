import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDefaultRegistry, loadModel, parseTrainingSpec, runTraining } from '@unilab/runner';
import { parseAlignmentJobSpec, runAlignmentJob, type AlignmentJobEvent } from '../src/index.ts';
import { sotuSubset, tempDir } from './fixtures.ts';

// An alignment job's runner in this process: sft → rm → ppo on a tiny decoder pre-trained here on State of the Union.
const registry = createDefaultRegistry();

async function tinyBase(): Promise<string> {
  const spec = parseTrainingSpec({
    name: 'base',
    seed: 7,
    backend: 'reference',
    data: { corpus: await sotuSubset(2), heldOutFraction: 0.2 },
    model: { architecture: 'decoder', config: { layers: 1, dModel: 16, heads: 2 } },
    objective: { name: 'clm' },
    train: { steps: 12, batchSize: 4, seqLen: 64, lr: 3e-3, warmupSteps: 2, evalEvery: 0, evalBatches: 1, checkpointEvery: 12 },
    samplePrompts: [],
  });
  const run = await runTraining({ spec, outDir: join(await tempDir(), 'base'), registry });
  run.dispose();
  return run.checkpoint!;
}

const pipeline = (base: string) =>
  parseAlignmentJobSpec({
    kind: 'align',
    base: { checkpoint: base },
    data: { generate: { tasks: ['copy', 'reverse'], train: 8, heldOut: 4 } },
    checkpointEvery: 2,
    evaluation: { verifierExamples: 1, maxTokens: 6 },
    stages: [
      { kind: 'sft', epochs: 1, batchSize: 4, lr: 3e-3 },
      { kind: 'rm', epochs: 1, batchSize: 4, tuning: { method: 'lora', rank: 2 } },
      { kind: 'ppo', iterations: 5, rolloutsPerIteration: 4, minibatchSize: 2, maxTokens: 6, epochs: 1, lr: 1e-3, tuning: { method: 'lora', rank: 2 } },
    ],
  });

describe('alignment job runner', () => {
  let base: string;
  beforeAll(async () => {
    base = await tinyBase();
  });

  it('sft → rm → ppo cancelled mid-SFT and again mid-PPO, each time resumed, ends with the bytes of an uninterrupted run; the PPO policy loads with its LoRA factors', async () => {
    const straightEvents: AlignmentJobEvent[] = [];
    const straight = await runAlignmentJob({ job: pipeline(base), base, outDir: join(await tempDir(), 'straight'), registry, onEvent: (e) => straightEvents.push(e) });
    expect(straight.status).toBe('completed');
    expect(straightEvents.filter((e) => e.type === 'stage').map((e) => (e as { name: string }).name)).toEqual(['sft', 'rm', 'ppo']);
    const ppoSteps = straightEvents.filter((e) => e.type === 'step' && e.stage === 2);
    expect(ppoSteps).toHaveLength(5);
    for (const k of ['reward', 'kl', 'entropy', 'clipFraction', 'valueLoss', 'beta']) expect(Number.isFinite((ppoSteps[0] as Record<string, unknown>)[k]), k).toBe(true);

    // Cancelled mid-SFT, resumed and cancelled again mid-PPO, resumed to the end: each resume continues its stage.
    const outDir = join(await tempDir(), 'interrupted');
    const cancelAt = async (stage: number, step: number, resume: boolean) => {
      const controller = new AbortController();
      const events: AlignmentJobEvent[] = [];
      const outcome = await runAlignmentJob({
        job: pipeline(base),
        base,
        outDir,
        registry,
        resume,
        signal: controller.signal,
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'step' && e.stage === stage && e.step === step) controller.abort();
        },
      });
      return { outcome, events };
    };
    const first = await cancelAt(0, 3, false);
    expect(first.outcome).toMatchObject({ status: 'cancelled', stage: 0, globalStep: 3 });
    const second = await cancelAt(2, 3, true);
    expect(second.events.find((e) => e.type === 'start')).toMatchObject({ stage: 0, startStep: 3 });
    expect(second.outcome).toMatchObject({ status: 'cancelled', stage: 2, globalStep: 8 + 3 });
    const resumedEvents: AlignmentJobEvent[] = [];
    const resumed = await runAlignmentJob({ job: pipeline(base), base, outDir, registry, resume: true, onEvent: (e) => resumedEvents.push(e) });
    expect(resumedEvents.find((e) => e.type === 'start')).toMatchObject({ stage: 2, startStep: 3 });
    expect(resumed.status).toBe('completed');
    const final = (o: typeof straight) => (o as { checkpoint: string }).checkpoint;
    expect(Buffer.compare(await readFile(final(straight)), await readFile(final(resumed)))).toBe(0);
    // The PPO state file beside it (the run's weights, moments, RNG, β, log) matches too.
    const state = (p: string) => readFile(join(p, '..', `ppo-state-${p.split('/').at(-1)}`));
    expect(Buffer.compare(await state(final(straight)), await state(final(resumed)))).toBe(0);
    const ppoFigures = (events: AlignmentJobEvent[]) => events.find((e) => e.type === 'stage-complete' && e.stage === 2);
    expect(ppoFigures(resumedEvents)).toEqual({ ...ppoFigures(straightEvents), checkpoint: final(resumed) });

    const loaded = await loadModel(final(resumed), registry);
    expect(loaded.model.params.some((p) => p.name.endsWith('.lora_a'))).toBe(true);
  });

  it("PPO's KL budget ends its stage early and visibly: the iteration that crossed it says so, the job completes at the step it reached", async () => {
    const job = pipeline(base);
    // Iteration 1 samples from policy = reference (KL exactly 0) and updates; the first later iteration whose sampled
    // KL is positive crosses a tiny budget.
    Object.assign(job.stages[2].options, { iterations: 8, klBudget: 1e-9 });
    const events: AlignmentJobEvent[] = [];
    const outcome = await runAlignmentJob({ job, base, outDir: join(await tempDir(), 'budget'), registry, onEvent: (e) => events.push(e) });
    const ppoSteps = events.filter((e) => e.type === 'step' && e.stage === 2) as Record<string, unknown>[];
    const last = ppoSteps.at(-1)!;
    expect(ppoSteps[0].kl).toBe(0);
    expect(ppoSteps.length).toBeLessThan(8);
    expect(last.kl as number).toBeGreaterThan(1e-9);
    expect(last.stopped).toMatch(new RegExp(`exceeds the budget 1e-9 at iteration ${last.step}: .* the run stops`));
    expect(ppoSteps.slice(0, -1).every((s) => s.stopped === undefined && (s.kl as number) <= 1e-9)).toBe(true);
    expect(events.find((e) => e.type === 'stage-complete' && e.stage === 2)).toMatchObject({ globalStep: 8 + (last.step as number) });
    expect(outcome).toMatchObject({ status: 'completed', globalStep: 8 + (last.step as number) });
  });

  it('sft with adapters, then dpo with LoRA: DPO keeps the adapters frozen and trains its LoRA factors; loadModel rebuilds both', async () => {
    const job = parseAlignmentJobSpec({
      kind: 'align',
      base: { checkpoint: base },
      data: { generate: { tasks: ['copy'], train: 8, heldOut: 4 } },
      checkpointEvery: 100,
      evaluation: { verifierExamples: 1, maxTokens: 4 },
      stages: [
        { kind: 'sft', epochs: 1, batchSize: 4, lr: 3e-3, tuning: { method: 'adapter', size: 4 } },
        { kind: 'dpo', batchSize: 4, lr: 1e-2, tuning: { method: 'lora', rank: 2, targets: ['wq', 'wv'] } },
      ],
    });
    const events: AlignmentJobEvent[] = [];
    const outcome = await runAlignmentJob({ job, base, outDir: join(await tempDir(), 'adapters'), registry, onEvent: (e) => events.push(e) });
    expect(outcome.status).toBe('completed');
    const starts = events.filter((e) => e.type === 'start') as Extract<AlignmentJobEvent, { type: 'start' }>[];
    expect(starts.map((s) => s.tuning)).toEqual(['adapter', 'lora']);
    const sftModel = await loadModel((events.find((e) => e.type === 'stage-complete' && e.stage === 0) as { checkpoint: string }).checkpoint, registry);
    const dpoModel = await loadModel((outcome as { checkpoint: string }).checkpoint, registry);
    const names = (m: typeof dpoModel) => m.model.params.map((p) => p.name);
    expect(names(dpoModel).some((n) => n.includes('_adapter.'))).toBe(true);
    expect(names(dpoModel).some((n) => n.endsWith('.lora_a'))).toBe(true);
    // The adapters trained in SFT reach DPO's model unchanged (DPO trains only its LoRA factors).
    const adapter = (m: typeof dpoModel) => m.model.params.find((p) => p.name.includes('_adapter.up'))!;
    expect(Array.from(await dpoModel.backend.read(adapter(dpoModel).value))).toEqual(Array.from(await sftModel.backend.read(adapter(sftModel).value)));
    expect(starts[1].trainedParameters).toBe(dpoModel.model.params.filter((p) => /\.lora_[ab]$/.test(p.name)).reduce((n, p) => n + p.value.shape.reduce((a, b) => a * b, 1), 0));
  });

  it('refuses stage orders no pipeline has, naming spec.stages', () => {
    const spec = (stages: unknown[]) => ({ kind: 'align', base: { checkpoint: 'x' }, data: { generate: {} }, stages });
    expect(() => parseAlignmentJobSpec(spec([{ kind: 'dpo' }]))).toThrow(/spec.stages: stages dpo: every pipeline starts with sft/);
    expect(() => parseAlignmentJobSpec(spec([{ kind: 'sft' }, { kind: 'rm' }, { kind: 'dpo' }]))).toThrow(/allowed: sft; sft → dpo; sft → rm; sft → rm → ppo/);
    expect(() => parseAlignmentJobSpec(spec([{ kind: 'sft' }, { kind: 'sft' }]))).toThrow(/each stage kind runs once/);
    for (const order of [['sft'], ['sft', 'dpo'], ['sft', 'rm'], ['sft', 'rm', 'ppo']])
      expect(parseAlignmentJobSpec(spec(order.map((kind) => ({ kind })))).stages.map((s) => s.kind)).toEqual(order);
    expect(() => parseAlignmentJobSpec(spec([{ kind: 'sft' }, { kind: 'rm' }, { kind: 'ppo', kl: { kind: 'adaptive', beta: 0 } }]))).toThrow(/spec.stages\[2\].kl.beta/);
    expect(() =>
      parseAlignmentJobSpec(spec([{ kind: 'sft', tuning: { method: 'adapter' } }, { kind: 'dpo', tuning: { method: 'adapter', size: 4 } }])),
    ).toThrow(/spec.stages\[1\].tuning.method: adapters are inserted once in a pipeline/);
    expect(() => parseAlignmentJobSpec(spec([{ kind: 'sft' }, { kind: 'rm', tuning: { method: 'adapter' } }, { kind: 'ppo', tuning: { method: 'adapter' } }]))).toThrow(
      /spec.stages\[2\].tuning.method: adapters are inserted once in a pipeline \(spec.stages\[1\] does\)/,
    );
  });
});
