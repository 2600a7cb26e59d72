import type { StepResult } from '@unilab/core';

/**
 * Where a diverged step first showed a non-finite value. Parameters were finite before the step (every earlier
 * step passed this check), so the step itself produced it: a non-finite loss means the forward pass or the
 * cross-entropy over its logits; a finite loss with a non-finite gradient norm means the backward pass.
 */
export type DivergencePhase = 'forward' | 'backward';

/** A training step whose loss or gradient norm is NaN or infinite: names the step, the phase and the value. */
export class TrainingDivergedError extends Error {
  constructor(
    readonly step: number,
    readonly phase: DivergencePhase,
    readonly value: number,
    lr: number,
  ) {
    const what = phase === 'forward' ? `loss is ${value} (forward pass / cross-entropy)` : `gradient norm is ${value} (backward pass)`;
    super(`training diverged at step ${step}: ${what}; lower train.lr (now ${lr})`);
    this.name = 'TrainingDivergedError';
  }
}

/** Throw before a non-finite step can reach a checkpoint. */
export function assertFiniteStep(result: StepResult, lr: number): void {
  if (!Number.isFinite(result.loss)) throw new TrainingDivergedError(result.step, 'forward', result.loss, lr);
  if (!Number.isFinite(result.gradNorm)) throw new TrainingDivergedError(result.step, 'backward', result.gradNorm, lr);
}
