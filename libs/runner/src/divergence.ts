import type { NonFiniteOp, StepResult, Trainer } from '@unilab/core';

/**
 * Where a diverged step first produced a non-finite value: the forward pass (an op's output, the loss) or the
 * backward pass (a gradient, their accumulation or their norm).
 */
export type DivergencePhase = 'forward' | 'backward';

/** A training step whose loss or gradient norm is NaN or infinite: names the step, the phase, the op and the value. */
export class TrainingDivergedError extends Error {
  constructor(
    readonly step: number,
    readonly phase: DivergencePhase,
    /** The step's loss (forward) or gradient norm (backward). */
    readonly value: number,
    lr: number,
    /** The first op that produced a non-finite value, found by replaying the step; null if the replay found none. */
    readonly op: NonFiniteOp | null,
  ) {
    const symptom = phase === 'forward' ? `loss is ${value}` : `gradient norm is ${value}`;
    const cause = op ? `the ${op.phase} op ${op.op} (${op.where}) produced ${op.value}, so the ${symptom}` : `${symptom} (${phase} pass)`;
    super(`training diverged at step ${step}: ${cause}; lower train.lr (now ${lr})`);
    this.name = 'TrainingDivergedError';
  }
}

/**
 * Throw before a diverged step can reach a checkpoint. The trainer did not apply the step, so it is replayed once
 * with the parameters it started from, checking every op's output and gradient, to name the op that went first.
 * Steps that stay finite cost nothing here.
 */
export async function checkFiniteStep(trainer: Trainer, result: StepResult, lr: number): Promise<void> {
  if (result.applied) return;
  const op = await trainer.locateNonFinite();
  const phase = op?.phase ?? (Number.isFinite(result.loss) ? 'backward' : 'forward');
  throw new TrainingDivergedError(result.step, phase, phase === 'forward' ? result.loss : result.gradNorm, lr, op);
}
