import { crossEntropy } from '../autodiff/ops.ts';
import { Tape } from '../autodiff/tape.ts';
import type { Backend } from '../backend/backend.ts';
import { countTargets, type Batch } from '../batch.ts';
import { uploadBatch } from '../batch-tensors.ts';
import type { NonFiniteOp } from '../autodiff/finite-check.ts';
import type { Parameter } from '../nn/parameter.ts';
import type { Model } from '../plugins/architecture.ts';
import type { Batcher } from '../plugins/objective.ts';
import type { AdamW } from '../optim/adamw.ts';
import { learningRate, type ScheduleConfig } from '../optim/schedule.ts';
import { locateNonFinite } from './locate-non-finite.ts';

export interface StepResult {
  /** The step just completed (1-based count of optimizer updates). */
  step: number;
  /** Mean training loss over the step's micro-batches. */
  loss: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Input positions processed (batch size x sequence length x micro-batches). */
  tokens: number;
  /**
   * False when the loss or the gradient norm was NaN or ±inf: the update was not applied (parameters, AdamW moments
   * and `Trainer.step` are as before the step, the gradients zeroed), so `locateNonFinite()` can replay it.
   */
  applied: boolean;
}

/**
 * The training step: for each micro-batch, forward, masked cross-entropy, backward (gradients accumulate in the
 * parameters' buffers, each scaled by 1 / micro-batches); then one clipped AdamW update. Every tensor the step
 * creates is released before it returns, so memory stays flat over any number of steps.
 *
 * The gradient norm is read back before the update (still one scalar readback per step besides the losses), so a
 * step whose loss or gradient norm is not finite is never applied, and can be replayed exactly as it ran.
 */
export class Trainer {
  step = 0;
  /** What the optimizer updates is what the tape differentiates: parameters it does not hold stay frozen. */
  private readonly trainable: ReadonlySet<Parameter>;
  /** The micro-batches of the last step that was not applied (kept only for a diverged step). */
  private divergedBatches: Batch[] | null = null;

  constructor(
    readonly backend: Backend,
    readonly model: Model,
    readonly optimizer: AdamW,
    readonly batcher: Batcher,
    readonly schedule: ScheduleConfig,
    readonly gradAccum = 1,
  ) {
    this.trainable = new Set(optimizer.params);
  }

  async trainStep(): Promise<StepResult> {
    const be = this.backend;
    let lossSum = 0;
    let tokens = 0;
    const batches: Batch[] = [];
    for (let micro = 0; micro < this.gradAccum; micro++) {
      const batch = this.batcher.next();
      batches.push(batch);
      const tape = new Tape(be, true, false, this.trainable);
      try {
        const inputs = uploadBatch(tape, batch);
        const logits = this.model.forward(tape, inputs);
        const loss = crossEntropy(tape, logits, inputs.targets, inputs.lossMask);
        tape.backward(loss, 1 / this.gradAccum);
        lossSum += (await be.read(loss.value))[0];
      } finally {
        tape.release();
      }
      tokens += batch.batchSize * batch.seqLen;
    }
    const lr = learningRate(this.step, this.schedule);
    const sumSquares = this.optimizer.gradSumOfSquares();
    const gradNorm = Math.sqrt((await be.read(sumSquares))[0]);
    const loss = lossSum / this.gradAccum;
    const applied = Number.isFinite(loss) && Number.isFinite(gradNorm);
    if (applied) {
      this.optimizer.update(lr, sumSquares);
      this.step++;
    } else {
      this.optimizer.zeroGrad();
      this.divergedBatches = batches;
    }
    be.dispose(sumSquares);
    return { step: applied ? this.step : this.step + 1, loss, lr, gradNorm, tokens, applied };
  }

  /**
   * Replay the last step that was not applied, on the same micro-batches and the unchanged parameters, with a
   * finite-check tape: the first op whose output (forward) or gradient (backward) is NaN or ±inf, else the overflowing
   * gradient sum or norm (see locateNonFinite); null only if the replay finds every value finite.
   */
  async locateNonFinite(): Promise<NonFiniteOp | null> {
    if (!this.divergedBatches) throw new Error('locateNonFinite: no step has diverged');
    return locateNonFinite(this.backend, this.model, this.divergedBatches, this.optimizer.params);
  }

  /** Mean loss per target token over fixed held-out batches (no gradients recorded). */
  async evaluate(batches: readonly Batch[]): Promise<number> {
    return evaluateLoss(this.backend, this.model, batches);
  }
}

export async function evaluateLoss(backend: Backend, model: Model, batches: readonly Batch[]): Promise<number> {
  let total = 0;
  let count = 0;
  for (const batch of batches) {
    const n = countTargets(batch);
    if (n === 0) continue;
    const tape = new Tape(backend, false);
    try {
      const inputs = uploadBatch(tape, batch);
      const loss = crossEntropy(tape, model.forward(tape, inputs), inputs.targets, inputs.lossMask);
      total += (await backend.read(loss.value))[0] * n;
      count += n;
    } finally {
      tape.release();
    }
  }
  return count > 0 ? total / count : NaN;
}
