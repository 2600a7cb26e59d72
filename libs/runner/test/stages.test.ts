import { describe, expect, it } from 'vitest';
import { createReferenceBackend, parameterCount } from '@unilab/core';
import { buildModel, createDefaultRegistry, estimateParameters, parseJobSpec, parseTrainingSpec, runStages, runTraining, tokenizerFor, type JobEvent, type RunEvent } from '../src/index.ts';
import { sotuSubset, tempDir } from './fixtures.ts';

const registry = createDefaultRegistry();

/** Two stages on the reference backend: a broad phase, then a lower-LR phase on a two-corpus mixture. */
function twoStageSpec(corpusA: string, corpusB: string, gate?: Record<string, unknown>) {
  return {
    name: 'phases',
    seed: 3,
    backend: 'reference',
    data: { corpus: corpusA, heldOutFraction: 0.2 },
    model: { architecture: 'decoder', config: { layers: 1, dModel: 16, heads: 2 } },
    train: { batchSize: 4, seqLen: 16, lr: 3e-3, warmupSteps: 1, evalEvery: 0, evalBatches: 2, checkpointEvery: 3 },
    samplePrompts: [],
    stages: [
      { name: 'broad', steps: 6 },
      {
        name: 'focus',
        steps: 6,
        train: { lr: 1e-3, minLr: 1e-4, schedule: 'constant' },
        data: { mixture: [{ corpus: corpusA, weight: 1 }, { corpus: corpusB, weight: 3 }] },
        ...(gate && { gate }),
      },
    ],
  };
}

async function run(spec: unknown, outDir: string, options: { resume?: boolean; abortAtStep?: number } = {}) {
  const events: JobEvent[] = [];
  const controller = new AbortController();
  const outcome = await runStages({
    job: parseJobSpec(spec),
    outDir,
    registry,
    resume: options.resume,
    signal: controller.signal,
    onEvent(e) {
      events.push(e);
      if (e.type === 'step' && e.globalStep === options.abortAtStep) controller.abort();
    },
  });
  return { outcome, events };
}

const losses = (events: JobEvent[]) => events.flatMap((e) => (e.type === 'step' ? [[e.globalStep, e.loss] as const] : []));

describe('multi-stage jobs', () => {
  it('cancelled in stage 2, a job resumes in stage 2 at its step and ends bit-identical to an uninterrupted run', async () => {
    const [a, b] = [await sotuSubset(4), await sotuSubset(7)];
    const spec = twoStageSpec(a, b);
    const straight = await run(spec, await tempDir());
    expect(straight.outcome).toMatchObject({ status: 'completed', globalStep: 12 });
    const [first, second] = straight.events.filter((e) => e.type === 'stage-complete');
    const stage2 = straight.events.find((e) => e.type === 'stage' && e.stage === 1);
    // Stage 2 starts from stage 1's final checkpoint.
    expect(stage2).toMatchObject({ globalStart: 6, initFrom: (first as { checkpoint: string }).checkpoint });

    const outDir = await tempDir();
    const cut = await run(spec, outDir, { abortAtStep: 9 });
    expect(cut.outcome).toMatchObject({ status: 'cancelled', globalStep: 9, stage: 1 });
    const resumed = await run(spec, outDir, { resume: true });
    expect(resumed.events[0]).toMatchObject({ type: 'stage', stage: 1, name: 'focus', resumed: true });
    expect(resumed.events.find((e) => e.type === 'start')).toMatchObject({ startStep: 3, globalStep: 9 });
    expect([...losses(cut.events), ...losses(resumed.events)]).toEqual(losses(straight.events));
    const last = resumed.events.filter((e) => e.type === 'stage-complete').at(-1);
    expect((last as { heldOutLoss: number }).heldOutLoss).toBe((second as { heldOutLoss: number }).heldOutLoss);
    await expect(run(spec, outDir)).rejects.toThrow(/already holds a job/);
  });

  it('a second stage that trains an objective mixture learns, and resumed mid-stage repeats its losses exactly', async () => {
    const corpus = await sotuSubset(6);
    const spec = {
      name: 'mixed-objectives',
      seed: 9,
      backend: 'reference',
      data: { corpus, heldOutFraction: 0.2 },
      model: { architecture: 'decoder', config: { layers: 1, dModel: 16, heads: 2 } },
      train: { batchSize: 4, seqLen: 32, lr: 1e-2, minLr: 1e-3, warmupSteps: 1, evalEvery: 4, evalBatches: 4, checkpointEvery: 4 },
      samplePrompts: [],
      stages: [
        { name: 'causal', steps: 4 },
        {
          name: 'mixed',
          steps: 16,
          objective: { mixture: [{ name: 'clm', weight: 1 }, { name: 'span-corruption', config: { meanSpanLength: 3 }, weight: 1 }] },
        },
      ],
    };
    const straight = await run(spec, await tempDir());
    expect(straight.outcome).toMatchObject({ status: 'completed', globalStep: 20 });
    // One vocabulary for the job: the causal stage already reserves the sentinels the second stage needs.
    const starts = straight.events.filter((e): e is Extract<JobEvent, { type: 'start' }> => e.type === 'start');
    expect(starts.map((e) => e.vocabSize)).toEqual([358, 358]);
    const evals = straight.events.filter((e): e is Extract<JobEvent, { type: 'eval' }> => e.type === 'eval' && e.stage === 1).map((e) => e.heldOutLoss);
    expect(evals).toHaveLength(4);
    expect(evals.at(-1)!).toBeLessThan(evals[0] - 0.1);

    const outDir = await tempDir();
    const cut = await run(spec, outDir, { abortAtStep: 13 });
    expect(cut.outcome).toMatchObject({ status: 'cancelled', globalStep: 13, stage: 1 });
    const resumed = await run(spec, outDir, { resume: true });
    expect(resumed.events.find((e) => e.type === 'start')).toMatchObject({ stage: 1, startStep: 9, globalStep: 13 });
    expect([...losses(cut.events), ...losses(resumed.events)]).toEqual(losses(straight.events));
    expect(resumed.outcome).toMatchObject({ status: 'completed', globalStep: 20 });
    // The held-out batches of the mixture are drawn the same way in the resumed run.
    const lastEval = (events: JobEvent[]) => events.filter((e) => e.type === 'eval').at(-1);
    expect(lastEval(resumed.events)).toEqual(lastEval(straight.events));
  });

  it('an eval gate retries a stage with a new seed, stops the job, or lets it continue', async () => {
    const [a, b] = [await sotuSubset(3), await sotuSubset(5)];
    const never = { metric: 'heldOutLoss', threshold: 0.001 };

    const retry = run(twoStageSpec(a, b, { ...never, action: 'retry', maxRetries: 1 }), await tempDir());
    await expect(retry).rejects.toThrow(/stage "focus": gate heldOutLoss <= 0.001 still failed after 2 attempts/);

    const stopped = await run(twoStageSpec(a, b, { ...never, action: 'stop' }), await tempDir());
    expect(stopped.outcome).toMatchObject({ status: 'stopped', stage: 1, globalStep: 12 });

    const goOn = await run(twoStageSpec(a, b, { ...never, action: 'continue' }), await tempDir());
    expect(goOn.outcome.status).toBe('completed');
    expect(goOn.events.find((e) => e.type === 'gate')).toMatchObject({ passed: false, next: 'continue' });

    const passes = await run(twoStageSpec(a, b, { metric: 'trainLoss', threshold: 100, action: 'retry' }), await tempDir());
    expect(passes.events.find((e) => e.type === 'gate')).toMatchObject({ passed: true, next: 'continue', attempt: 0 });
  });

  it('retries run in their own directory with a derived seed', async () => {
    const [a, b] = [await sotuSubset(3), await sotuSubset(5)];
    const events: JobEvent[] = [];
    await runStages({
      job: parseJobSpec(twoStageSpec(a, b, { metric: 'heldOutLoss', threshold: 0.001, action: 'retry', maxRetries: 1 })),
      outDir: await tempDir(),
      registry,
      onEvent: (e) => events.push(e),
    }).catch(() => {});
    const attempts = events.filter((e): e is Extract<JobEvent, { type: 'stage' }> => e.type === 'stage' && e.stage === 1);
    expect(attempts.map((e) => e.attempt)).toEqual([0, 1]);
    expect(attempts[1].seed).not.toBe(attempts[0].seed);
    expect(attempts[1].initFrom).toBe(attempts[0].initFrom);
    const checkpoints = events.filter((e): e is Extract<JobEvent, { type: 'checkpoint' }> => e.type === 'checkpoint' && e.stage === 1);
    expect(new Set(checkpoints.map((c) => c.path.split('/attempt-')[1][0]))).toEqual(new Set(['0', '1']));
  });
});

describe('job spec validation', () => {
  const base = { data: { corpus: 'sotu' }, train: { warmupSteps: 1 } };

  it('names the bad field inside the stage that set it', () => {
    const bad = (stages: unknown[], extra: Record<string, unknown> = {}) => () => parseJobSpec({ ...base, ...extra, stages });
    expect(bad([{ name: 'a', steps: 2 }, { name: 'b', steps: 2, train: { lr: -1 } }])).toThrow(/^spec\.stages\[1\]\.train\.lr: expected a number > 0/);
    expect(bad([{ name: 'a', steps: 2, tokens: 10 }])).toThrow(/^spec\.stages\[0\]\.steps: give the stage a budget: exactly one of steps or tokens/);
    expect(bad([{ name: 'a' }])).toThrow(/exactly one of steps or tokens/);
    expect(bad([{ name: 'a', steps: 2 }, { name: 'a', steps: 2 }])).toThrow(/^spec\.stages\[1\]\.name: "a" is used by an earlier stage/);
    expect(bad([{ name: 'a', steps: 2 }], { train: { steps: 5 } })).toThrow(/^spec\.train\.steps: a staged job gives each stage its own budget/);
    expect(bad([])).toThrow(/^spec\.stages: expected a non-empty list/);
    expect(bad([{ name: 'a', steps: 2, gate: { metric: 'accuracy', threshold: 1, action: 'retry' } }])).toThrow(
      /^spec\.stages\[0\]\.gate\.metric: expected one of "heldOutLoss", "trainLoss"/,
    );
    expect(bad([{ name: 'a', steps: 2, data: { corpus: 'sotu', mixture: [{ corpus: 'brown', weight: 1 }] } }])).toThrow(
      /^spec\.stages\[0\]\.data: expected exactly one of corpus, mixture or shards/,
    );
  });

  it('turns a token budget into whole steps and keeps a stage-less spec as one stage', () => {
    const job = parseJobSpec({ ...base, train: { ...base.train, batchSize: 4, seqLen: 16 }, stages: [{ name: 'a', tokens: 1000 }] });
    expect(job.stages[0].spec.train.steps).toBe(Math.ceil(1000 / 64));
    const single = parseJobSpec({ ...base, train: { steps: 7, warmupSteps: 1 } });
    expect(single.stages).toHaveLength(1);
    expect(single.totalSteps).toBe(7);
  });
});

describe('parameter estimate', () => {
  it('equals the parameter count of the built decoder, without building it', () => {
    for (const config of [
      { layers: 1, dModel: 16, heads: 2 },
      { layers: 3, dModel: 32, heads: 4, kvHeads: 2 },
      { layers: 2, dModel: 24, heads: 2, ffnHidden: 40 },
    ]) {
      const spec = parseTrainingSpec({ backend: 'reference', model: { architecture: 'decoder', config } });
      const model = buildModel(spec, registry, createReferenceBackend(), tokenizerFor(spec, registry).vocabSize);
      expect(estimateParameters(spec, registry), JSON.stringify(config)).toBe(parameterCount(model.params));
    }
    // A 100-billion-parameter request: 96 layers of width 8192 with a 32768-wide FFN.
    const huge = parseTrainingSpec({ model: { architecture: 'decoder', config: { layers: 96, dModel: 8192, heads: 64, ffnHidden: 32768 } } });
    expect(estimateParameters(huge, registry)).toBeGreaterThan(100e9);
  });
});

describe('job events', () => {
  it("are the run's own events placed in the job: each runTraining event, plus its stage, attempt and job step", async () => {
    const corpus = await sotuSubset(4);
    const { stages: _stages, ...base } = twoStageSpec(corpus, corpus);
    const single = { ...base, train: { ...base.train, steps: 4 } };
    const runEvents: RunEvent[] = [];
    const alone = await runTraining({ spec: parseTrainingSpec(single), outDir: await tempDir(), registry, onEvent: (e) => runEvents.push(e) });
    alone.dispose();
    const { events } = await run(single, await tempDir());
    const fromRun = events.filter((e) => e.type === 'start' || e.type === 'step' || e.type === 'eval' || e.type === 'checkpoint');
    expect(fromRun.map((e) => e.type)).toEqual(runEvents.map((e) => e.type));
    fromRun.forEach((e, i) => {
      const { stage, attempt, globalStep, ...own } = e as typeof e & { stage: number; attempt: number; globalStep: number };
      expect({ stage, attempt, globalStep }).toEqual({ stage: 0, attempt: 0, globalStep: e.type === 'start' ? e.startStep : (e as { step: number }).step });
      // Same fields, same values: nothing renamed or dropped on the way (paths differ only by the job's directory).
      const expected = runEvents[i];
      expect(Object.keys(own).sort()).toEqual(Object.keys(expected).sort());
      if (e.type !== 'checkpoint') expect(own).toEqual(expected);
    });
  });
});
