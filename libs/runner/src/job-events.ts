import type { Gate } from './job-spec.ts';
import type { RunEvent } from './run-events.ts';

/** Where in a job a run's event happened: the stage and its attempt, and the step on the job's global step axis. */
export interface InStage {
  stage: number;
  attempt: number;
  globalStep: number;
}

/** Each kind of run event, placed in the job. */
type InStageEvent<E> = E extends unknown ? E & InStage : never;

/**
 * What a multi-stage job (run-stages.ts) reports as it runs: its own events (a stage begins, its gate's verdict, it
 * completes) and its runs' events as runTraining made them, each with where in the job it happened.
 */
export type JobEvent =
  | { type: 'stage'; stage: number; name: string; attempt: number; seed: number; steps: number; globalStart: number; resumed: boolean; initFrom: string | null }
  | InStageEvent<RunEvent>
  /** A resume passed over a damaged checkpoint (truncated, checksum mismatch) for the one before it. */
  | { type: 'checkpoint-skipped'; stage: number; attempt: number; path: string; reason: string; by: 'resume' }
  | { type: 'gate'; stage: number; attempt: number; metric: Gate['metric']; value: number; threshold: number; passed: boolean; next: 'continue' | 'retry' | 'stop' | 'fail' }
  | { type: 'stage-complete'; stage: number; name: string; attempt: number; globalStep: number; checkpoint: string; heldOutLoss: number; trainLoss: number };

export interface CompletedStage {
  stage: number;
  name: string;
  attempt: number;
  checkpoint: string;
  heldOutLoss: number;
  trainLoss: number;
}

/** Where a job stands, written atomically beside its checkpoints at every stage transition. */
export interface JobProgress {
  /** The job the directory belongs to (the API's job id), when a server runs it: no other job may resume from it. */
  owner?: string;
  stage: number;
  attempt: number;
  completed: CompletedStage[];
}

export type JobOutcome =
  | { status: 'completed'; globalStep: number; checkpoint: string; stages: CompletedStage[] }
  | { status: 'cancelled'; globalStep: number; checkpoint: string | null; stage: number }
  | { status: 'stopped'; globalStep: number; checkpoint: string; stage: number; reason: string };

