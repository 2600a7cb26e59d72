import type { AdamW, RngState } from '@unilab/core';

/**
 * A training run that takes one optimizer step at a time and can be put back where it stood: what an alignment job
 * needs to checkpoint mid-stage and resume to the same bits. Its parameters and the optimizer's moments are
 * checkpointed as tensors (core/checkpoint); `position()` is the rest, plain JSON.
 */
export interface StepwiseRun<F extends StepFigures = StepFigures> {
  readonly totalSteps: number;
  /** Steps taken so far. */
  readonly step: number;
  /** Why the run ended before totalSteps (PPO's KL budget), or null/absent while it may go on. */
  readonly stoppedEarly?: string | null;
  readonly optimizer: AdamW;
  /** Take the next step; its figures are the batch's before the update (as every loss curve here reports them). */
  next(): Promise<F>;
  position(): RunPosition;
  /** Continue from a saved position (after the parameters and moments were restored). */
  restore(position: RunPosition): void;
  dispose(): void;
}

export interface StepFigures {
  /** 1-based. */
  step: number;
  loss: number;
  lr: number;
}

export interface RunPosition {
  step: number;
  order: { epoch: number; rng: RngState };
}

/** Run to the end, reporting every step. */
export async function runToEnd<F extends StepFigures>(run: StepwiseRun<F>, onStep?: (figures: F) => void): Promise<F[]> {
  const out: F[] = [];
  try {
    while (run.step < run.totalSteps) {
      const f = await run.next();
      out.push(f);
      onStep?.(f);
    }
  } finally {
    run.dispose();
  }
  return out;
}
