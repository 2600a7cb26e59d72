import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend, PluginRegistry } from '@unilab/core';
import { attemptSeed, gateNext, latestCheckpoint, listCheckpoints, writeFileAtomic } from '@unilab/runner';
import { loadAlignmentData } from './align-job-data.ts';
import type { AlignmentGate, AlignmentJobSpec, AlignmentStagePlan } from './align-job-spec.ts';
import { ALIGNMENT_STAGES } from './alignment-stages.ts';
import { parameterCount, type PreparedStage, type StageContext } from './stage-kinds.ts';

/**
 * Run an alignment job's stages in order, or continue one: the same contract as pre-training's runStages
 * (runner/stages.ts). Each stage attempt trains in its own directory and checkpoints atomically every
 * `checkpointEvery` steps and at its end: parameters, AdamW moments and step count, and the run's position (step,
 * the epoch order's RNG). The progress file names the current stage and attempt and what earlier stages made, so a
 * job killed mid-stage continues at its newest intact checkpoint and ends with the bits an uninterrupted run has.
 */
export type AlignmentJobEvent =
  | { type: 'stage'; stage: number; name: string; attempt: number; seed: number; steps: number; globalStart: number; resumed: boolean; initFrom: string | null }
  | {
      type: 'start';
      stage: number;
      parameters: number;
      trainedParameters: number;
      tuning: string;
      trainExamples: number;
      heldOutExamples: number;
      startStep: number;
      globalStep: number;
      resumedFrom: string | null;
    }
  | ({ type: 'step'; stage: number; step: number; globalStep: number; loss: number; lr: number } & Record<string, number | string>)
  /** Held-out figures at the end of a stage; heldOutLoss is its held-out loss where it has one (SFT: response NLL). */
  | { type: 'eval'; stage: number; step: number; globalStep: number; heldOutLoss?: number; figures: Record<string, number> }
  /** A checkpoint of a policy (completions serve the newest). */
  | { type: 'checkpoint'; stage: number; attempt: number; step: number; globalStep: number; path: string }
  /** A checkpoint of the reward model: resumable, but no policy to serve. */
  | { type: 'reward-checkpoint'; stage: number; attempt: number; step: number; globalStep: number; path: string }
  | { type: 'checkpoint-skipped'; stage: number; attempt: number; path: string; reason: string; by: 'resume' }
  | { type: 'gate'; stage: number; attempt: number; metric: string; comparison: '<=' | '>='; value: number; threshold: number; passed: boolean; next: 'continue' | 'retry' | 'stop' | 'fail' }
  | { type: 'stage-complete'; stage: number; name: string; attempt: number; globalStep: number; checkpoint: string; figures: Record<string, number> };

export interface CompletedAlignmentStage {
  stage: number;
  name: string;
  attempt: number;
  checkpoint: string;
  policy: boolean;
  figures: Record<string, number>;
}

export type AlignmentJobOutcome =
  | { status: 'completed'; globalStep: number; checkpoint: string; stages: CompletedAlignmentStage[] }
  | { status: 'cancelled'; globalStep: number; checkpoint: string | null; stage: number }
  | { status: 'stopped'; globalStep: number; checkpoint: string; stage: number; reason: string };

interface AlignmentProgress {
  owner?: string;
  stage: number;
  attempt: number;
  /** Steps of each stage (planned for the current one, taken for finished ones): the job's global step axis. */
  stageSteps: number[];
  completed: CompletedAlignmentStage[];
}

export interface RunAlignmentJobOptions {
  job: AlignmentJobSpec;
  /** The base checkpoint (a path: the API resolves a job id to its newest checkpoint at submission). */
  base: string;
  outDir: string;
  registry: PluginRegistry;
  resume?: boolean;
  signal?: AbortSignal;
  owner?: string;
  onEvent?(event: AlignmentJobEvent): void;
  backend?: Backend;
}

const PROGRESS_FILE = 'progress.json';
/** The base is copied into the job's directory at its first start: deleting the base's job later breaks no resume. */
const BASE_FILE = 'base.safetensors';

export function alignmentStageDir(outDir: string, stage: AlignmentStagePlan, attempt: number): string {
  return join(outDir, `stage-${stage.index}-${stage.name}`, `attempt-${attempt}`);
}

async function readProgress(outDir: string): Promise<AlignmentProgress | null> {
  try {
    return JSON.parse(await readFile(join(outDir, PROGRESS_FILE), 'utf8')) as AlignmentProgress;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read the progress of job ${outDir}: ${(err as Error).message}`);
  }
}

const writeProgress = (outDir: string, owner: string | undefined, progress: AlignmentProgress) =>
  writeFileAtomic(join(outDir, PROGRESS_FILE), JSON.stringify({ ...progress, ...(owner !== undefined && { owner }) }, null, 2));

export async function runAlignmentJob(options: RunAlignmentJobOptions): Promise<AlignmentJobOutcome> {
  const { job, outDir, registry, signal, onEvent = () => {} } = options;
  const saved = await readProgress(outDir);
  if (!options.resume && saved !== null) throw new Error(`${outDir} already holds a job; resume it or choose another output directory`);
  if (saved !== null && options.owner !== undefined && saved.owner !== options.owner)
    throw new Error(`cannot resume: the progress file in ${outDir} belongs to ${saved.owner === undefined ? 'a run outside the server' : `job ${saved.owner}`}, not to job ${options.owner}`);
  const base = join(outDir, BASE_FILE);
  if (saved === null) {
    await mkdir(outDir, { recursive: true });
    await writeFileAtomic(base, new Uint8Array(await readFile(options.base)));
  }
  let progress: AlignmentProgress = saved ?? { stage: 0, attempt: 0, stageSteps: [], completed: [] };
  const data = await loadAlignmentData(job.data);

  while (progress.stage < job.stages.length) {
    const plan = job.stages[progress.stage];
    const attempt = progress.attempt;
    const seed = attemptSeed(job.seed, attempt);
    const dir = alignmentStageDir(outDir, plan, attempt);
    const globalStart = progress.stageSteps.slice(0, plan.index).reduce((a, b) => a + b, 0);
    const latest = await latestCheckpoint(dir, (path, reason) => onEvent({ type: 'checkpoint-skipped', stage: plan.index, attempt, path, reason, by: 'resume' }));
    if (!latest && (await listCheckpoints(dir)).length > 0) throw new Error(`stage "${plan.name}" cannot continue: ${dir} holds checkpoints but none reads back intact`);
    await writeProgress(outDir, options.owner, progress);
    const policy = progress.completed.filter((c) => c.policy).at(-1)?.checkpoint ?? base;
    const reward = progress.completed.filter((c) => !c.policy).at(-1)?.checkpoint ?? null;
    const prepared = await prepareStage({ plan, registry, backend: options.backend, policy, reward, data, seed, evaluation: job.evaluation });
    const { run } = prepared;
    if (progress.stageSteps[plan.index] !== run.totalSteps) progress = { ...progress, stageSteps: [...progress.stageSteps.slice(0, plan.index), run.totalSteps] };
    onEvent({ type: 'stage', stage: plan.index, name: plan.name, attempt, seed, steps: run.totalSteps, globalStart, resumed: latest !== null, initFrom: policy === base ? null : policy });

    if (latest) await prepared.resume(latest);
    onEvent({
      type: 'start',
      stage: plan.index,
      parameters: parameterCount(prepared.params),
      trainedParameters: prepared.trained,
      tuning: plan.tuning.method,
      trainExamples: prepared.examples.train,
      heldOutExamples: prepared.examples.heldOut,
      startStep: run.step,
      globalStep: globalStart + run.step,
      resumedFrom: latest?.path ?? null,
    });
    let lastSaved = latest ? run.step : -1;
    let lastPath = latest?.path ?? null;
    const save = async () => {
      lastPath = await prepared.save(dir);
      lastSaved = run.step;
      const at = { stage: plan.index, attempt, step: run.step, globalStep: globalStart + run.step, path: lastPath };
      onEvent(prepared.policy ? { type: 'checkpoint', ...at } : { type: 'reward-checkpoint', ...at });
    };
    try {
      while (run.step < run.totalSteps && !run.stoppedEarly) {
        if (signal?.aborted) {
          if (lastSaved !== run.step) await save();
          return { status: 'cancelled', globalStep: globalStart + run.step, checkpoint: lastPath, stage: plan.index };
        }
        const f = await run.next();
        onEvent({ ...(f as typeof f & Record<string, number>), type: 'step', stage: plan.index, globalStep: globalStart + f.step });
        if (f.step % job.checkpointEvery === 0 || f.step === run.totalSteps || run.stoppedEarly) await save();
      }
      if (lastSaved !== run.step) await save();
      const figures = await prepared.evaluate();
      const heldOutLoss = figures.heldOutNll ?? figures.heldOutLoss;
      onEvent({ type: 'eval', stage: plan.index, step: run.step, globalStep: globalStart + run.step, ...(heldOutLoss !== undefined && { heldOutLoss }), figures });
      const globalStep = globalStart + run.step;
      const completed: CompletedAlignmentStage = { stage: plan.index, name: plan.name, attempt, checkpoint: lastPath!, policy: prepared.policy, figures };
      if (plan.gate) {
        const verdict = judge(plan.gate, figures, attempt);
        onEvent({ type: 'gate', stage: plan.index, attempt, ...verdict });
        const said = `gate ${verdict.metric} ${verdict.comparison} ${verdict.threshold}`;
        if (verdict.next === 'retry') {
          progress = { ...progress, attempt: attempt + 1 };
          continue;
        }
        if (verdict.next === 'fail') throw new Error(`stage "${plan.name}": ${said} still failed after ${attempt + 1} attempts (last ${verdict.metric} ${verdict.value.toFixed(4)})`);
        if (verdict.next === 'stop') {
          const reason = `stage "${plan.name}": ${said} failed (${verdict.metric} ${verdict.value.toFixed(4)}); the gate stops the job`;
          const done = [...progress.completed, completed];
          await writeProgress(outDir, options.owner, { ...progress, stage: job.stages.length, attempt: 0, completed: done });
          return { status: 'stopped', globalStep, checkpoint: done.filter((c) => c.policy).at(-1)?.checkpoint ?? completed.checkpoint, stage: plan.index, reason };
        }
      }
      onEvent({ type: 'stage-complete', stage: plan.index, name: plan.name, attempt, globalStep, checkpoint: completed.checkpoint, figures });
      // A stage that ended early (PPO's KL budget) took fewer steps than planned: the job's step axis goes on from where it ended.
      const stageSteps = [...progress.stageSteps.slice(0, plan.index), run.step];
      progress = { stage: progress.stage + 1, attempt: 0, stageSteps, completed: [...progress.completed, completed] };
    } finally {
      run.dispose();
    }
  }
  await writeProgress(outDir, options.owner, progress);
  const final = progress.completed.filter((c) => c.policy).at(-1)!;
  return { status: 'completed', globalStep: progress.stageSteps.reduce((a, b) => a + b, 0), checkpoint: final.checkpoint, stages: progress.completed };
}

function prepareStage(ctx: StageContext): Promise<PreparedStage> {
  const stage = ALIGNMENT_STAGES[ctx.plan.kind];
  return (stage.prepare as (c: StageContext) => Promise<PreparedStage>)(ctx);
}

/** A missing metric (NaN) fails the gate rather than passing it, as pre-training's gates do. */
function judge(gate: AlignmentGate, figures: Record<string, number>, attempt: number) {
  const value = figures[gate.metric] ?? NaN;
  const comparison = gate.direction === 'max' ? ('>=' as const) : ('<=' as const);
  const passed = gate.direction === 'max' ? value >= gate.threshold : value <= gate.threshold;
  return { metric: gate.metric, comparison, value, threshold: gate.threshold, passed, next: gateNext(gate, passed, attempt) };
}

