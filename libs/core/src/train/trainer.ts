import { crossEntropy } from '../autodiff/ops.ts';
import { Tape } from '../autodiff/tape.ts';
import type { Backend } from '../backend/backend.ts';
import { countTargets, type Batch } from '../batch.ts';
import { uploadBatch } from '../batch-tensors.ts';
import type { Model } from '../plugins/architecture.ts';
import type { Batcher } from '../plugins/objective.ts';
import type { AdamW } from '../optim/adamw.ts';
import { learningRate, type ScheduleConfig } from '../optim/schedule.ts';

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
}

/**
 * The training step: for each micro-batch, forward, masked cross-entropy, backward (gradients accumulate in the
 * parameters' buffers, each scaled by 1 / micro-batches); then one clipped AdamW update. Every tensor the step
 * creates is released before it returns, so memory stays flat over any number of steps.
 */
export class Trainer {
  step = 0;

  constructor(
    readonly backend: Backend,
    readonly model: Model,
    readonly optimizer: AdamW,
    readonly batcher: Batcher,
    readonly schedule: ScheduleConfig,
    readonly gradAccum = 1,
  ) {}

  async trainStep(): Promise<StepResult> {
    const be = this.backend;
    let lossSum = 0;
    let tokens = 0;
    for (let micro = 0; micro < this.gradAccum; micro++) {
      const batch = this.batcher.next();
      const tape = new Tape(be);
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
    const sumSquares = this.optimizer.step(lr);
    const gradNorm = Math.sqrt((await be.read(sumSquares))[0]);
    be.dispose(sumSquares);
    this.step++;
    return { step: this.step, loss: lossSum / this.gradAccum, lr, gradNorm, tokens };
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
