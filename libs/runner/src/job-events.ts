import type { ReadProblem } from '@unilab/data';
import type { Gate } from './job-spec.ts';

/** What a multi-stage job (run-stages.ts) reports as it runs, where it stands, and how it ended. */
export type JobEvent =
  | { type: 'stage'; stage: number; name: string; attempt: number; seed: number; steps: number; globalStart: number; resumed: boolean; initFrom: string | null }
  | {
      type: 'start';
      stage: number;
      parameters: number;
      vocabSize: number;
      trainTokens: number;
      heldOutTokens: number;
      unigramEntropy: number;
      startStep: number;
      globalStep: number;
      resumedFrom: string | null;
      /** Corpus records dropped or refused, by reason, and the first of them (file relative to the corpus, line). */
      dropped: Record<string, number>;
      problems: ReadProblem[];
    }
  | { type: 'step'; stage: number; step: number; globalStep: number; loss: number; lr: number; gradNorm: number; tokens: number }
  | { type: 'eval'; stage: number; step: number; globalStep: number; heldOutLoss: number }
  | { type: 'checkpoint'; stage: number; attempt: number; step: number; globalStep: number; path: string }
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

