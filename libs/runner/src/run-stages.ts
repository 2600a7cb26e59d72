import type { Backend, PluginRegistry } from '@unilab/core';
import { latestCheckpoint, listCheckpoints } from './checkpoint-files.ts';
import type { CompletedStage, JobEvent, JobOutcome, JobProgress } from './job-events.ts';
import { readJobProgress, stageDir, writeProgress } from './job-progress.ts';
import { attemptSeed, jobTokenizer, stageStart, type Gate, type JobSpec } from './job-spec.ts';
import { prepareMixture } from './mixture.ts';
import { runTraining } from './run.ts';
import type { TrainingSpec } from './spec.ts';

export interface RunStagesOptions {
  job: JobSpec;
  outDir: string;
  registry: PluginRegistry;
  /** Continue where the job's progress file and the newest intact checkpoint of its current stage say it stopped. */
  resume?: boolean;
  /** Cancel between steps: the current stage writes a checkpoint at the step it reached and the job returns. */
  signal?: AbortSignal;
  /** Who owns outDir (a job id): written into its progress file, and a resume refuses a directory someone else owns. */
  owner?: string;
  onEvent?(event: JobEvent): void;
  backend?: Backend;
}

/**
 * Run a job's stages in order (or continue one). Each stage attempt trains in its own directory, so a retry never
 * overwrites the attempt before it; the progress file names the current stage and attempt, so a resumed job
 * continues in the right stage at the right step.
 */
export async function runStages(options: RunStagesOptions): Promise<JobOutcome> {
  const { job, outDir, registry, signal, onEvent = () => {} } = options;
  const saved = await readJobProgress(outDir);
  if (!options.resume && saved !== null) throw new Error(`${outDir} already holds a job; resume it or choose another output directory`);
  if (saved !== null && options.owner !== undefined && saved.owner !== options.owner)
    throw new Error(
      `cannot resume: the progress file in ${outDir} belongs to ${saved.owner === undefined ? 'a run outside the server' : `job ${saved.owner}`}, not to job ${options.owner}`,
    );
  let progress: JobProgress = saved ?? { stage: 0, attempt: 0, completed: [] };
  const tokenizer = jobTokenizer(job, registry);

  while (progress.stage < job.stages.length) {
    const stage = job.stages[progress.stage];
    const attempt = progress.attempt;
    const seed = attemptSeed(stage.spec.seed, attempt);
    const spec: TrainingSpec = { ...stage.spec, seed };
    const dir = stageDir(outDir, stage, attempt);
    const globalStart = stageStart(job, stage.index);
    const initFrom = progress.completed.at(-1)?.checkpoint ?? null;
    const resumed =
      (await latestCheckpoint(dir, (path, reason) => onEvent({ type: 'checkpoint-skipped', stage: stage.index, attempt, path, reason, by: 'resume' }))) !== null;
    if (!resumed && (await listCheckpoints(dir)).length > 0)
      throw new Error(`stage "${stage.name}" cannot continue: ${dir} holds checkpoints but none reads back intact`);
    await writeProgress(outDir, options.owner, progress);
    onEvent({ type: 'stage', stage: stage.index, name: stage.name, attempt, seed, steps: spec.train.steps, globalStart, resumed, initFrom });

    const data = stage.mixture ? await prepareMixture(stage.mixture, spec.data.heldOutFraction, tokenizer, seed, spec.data.maxDocumentBytes) : undefined;
    const result = await runTraining({
      spec,
      outDir: dir,
      registry,
      tokenizer,
      resume: resumed,
      signal,
      ...(initFrom && !resumed && { initFrom }),
      ...(data && { data }),
      ...(options.backend && { backend: options.backend }),
      // The run's events are the job's, placed in the job: its stage and attempt, and the step on the job's axis.
      onEvent: (e) => onEvent({ ...e, stage: stage.index, attempt, globalStep: globalStart + (e.type === 'start' ? e.startStep : e.step) }),
    });
    const globalStep = globalStart + result.step;
    if (signal?.aborted) return { status: 'cancelled', globalStep, checkpoint: result.checkpoint, stage: stage.index };

    const last = result.losses.slice(-10);
    const completed: CompletedStage = {
      stage: stage.index,
      name: stage.name,
      attempt,
      checkpoint: result.checkpoint!,
      heldOutLoss: result.heldOutLoss,
      trainLoss: last.length > 0 ? last.reduce((a, b) => a + b, 0) / last.length : NaN,
    };
    const verdict = judgeGate(stage.gate, completed, attempt);
    if (verdict) {
      onEvent({ type: 'gate', stage: stage.index, attempt, ...verdict });
      if (verdict.next === 'retry') {
        progress = { ...progress, attempt: attempt + 1 };
        continue;
      }
      if (verdict.next === 'fail')
        throw new Error(
          `stage "${stage.name}": gate ${verdict.metric} <= ${verdict.threshold} still failed after ${attempt + 1} attempts (last ${verdict.metric} ${verdict.value.toFixed(4)})`,
        );
      if (verdict.next === 'stop') {
        const reason = `stage "${stage.name}": gate ${verdict.metric} <= ${verdict.threshold} failed (${verdict.metric} ${verdict.value.toFixed(4)}); the gate stops the job`;
        await writeProgress(outDir, options.owner, { stage: job.stages.length, attempt: 0, completed: [...progress.completed, completed] });
        return { status: 'stopped', globalStep, checkpoint: completed.checkpoint, stage: stage.index, reason };
      }
    }
    onEvent({ type: 'stage-complete', ...completed, globalStep });
    progress = { stage: progress.stage + 1, attempt: 0, completed: [...progress.completed, completed] };
  }
  await writeProgress(outDir, options.owner, progress);
  const final = progress.completed.at(-1)!;
  return { status: 'completed', globalStep: job.totalSteps, checkpoint: final.checkpoint, stages: progress.completed };
}

type GateVerdict = Omit<Extract<JobEvent, { type: 'gate' }>, 'type' | 'stage' | 'attempt'>;

/** A missing metric (NaN: no held-out set, or no step ran in this attempt) fails the gate rather than passing it. */
function judgeGate(gate: Gate | undefined, stage: CompletedStage, attempt: number): GateVerdict | null {
  if (!gate) return null;
  const value = stage[gate.metric];
  const passed = value <= gate.threshold;
  return { metric: gate.metric, value, threshold: gate.threshold, passed, next: gateNext(gate, passed, attempt) };
}

/**
 * What follows a gate's verdict: a pass (or a failed "continue" gate) goes on; a failed "stop" gate stops the job; a
 * failed "retry" gate retries the stage while retries are left (`attempt` counts from 0), then fails the job.
 */
export function gateNext(gate: { action: Gate['action']; maxRetries: number }, passed: boolean, attempt: number): GateVerdict['next'] {
  if (passed || gate.action === 'continue') return 'continue';
  if (gate.action === 'stop') return 'stop';
  return attempt < gate.maxRetries ? 'retry' : 'fail';
}
