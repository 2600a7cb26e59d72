import { AdamW, Tape, learningRate, ops, uploadBatch, type Parameter, type ScheduleConfig } from '@unilab/core';
import type { LoadedModel } from '@unilab/runner';
import type { Demonstration } from './alignment-jsonl.ts';
import { responseBatch } from './response-batch.ts';
import { backwardLoss, clippedUpdate } from '../finetune/training-step.ts';
import { EpochOrder } from './epoch-order.ts';
import { runToEnd, type StepwiseRun } from './stepwise-run.ts';

/**
 * Supervised fine-tuning on demonstrations, InstructGPT's first step (Ouyang et al. 2022 §3.5): maximise
 * log π(response | prompt), the prompt masked out of the loss (response-batch.ts), so the model learns to answer
 * and not to write prompts. Any subset of the parameters trains (all of them, or the LoRA factors / adapters a
 * fine-tuning method added: finetune/methods.ts); the optimizer holds only those.
 */
export interface SftOptions {
  lr: number;
  epochs: number;
  batchSize: number;
  weightDecay: number;
  /** Linear warmup over this fraction of the steps, then cosine decay to a tenth of the peak. */
  warmupFraction: number;
  /** Seeds the order of the examples. */
  seed: number;
}

export const DEFAULT_SFT_OPTIONS: SftOptions = { lr: 1e-3, epochs: 2, batchSize: 16, weightDecay: 0, warmupFraction: 0.1, seed: 1 };

export interface SftEvents {
  onStep?(step: number, totalSteps: number, loss: number): void;
}

/** Mean loss of every step (nats per response token). */
export async function sft(loaded: LoadedModel, trained: readonly Parameter[], data: readonly Demonstration[], options: SftOptions = DEFAULT_SFT_OPTIONS, events: SftEvents = {}): Promise<number[]> {
  const run = sftRun(loaded, trained, data, options);
  return (await runToEnd(run, (f) => events.onStep?.(f.step, run.totalSteps, f.loss))).map((f) => f.loss);
}

/** SFT one step at a time (an alignment job checkpoints and resumes it mid-stage). */
export function sftRun(loaded: LoadedModel, trained: readonly Parameter[], data: readonly Demonstration[], options: SftOptions = DEFAULT_SFT_OPTIONS): StepwiseRun {
  if (data.length === 0) throw new Error('sft: no demonstrations');
  if (trained.length === 0) throw new Error('sft: no parameter to train');
  const { model, backend } = loaded;
  const optimizer = new AdamW(backend, [...trained], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: options.weightDecay, clipNorm: 1 });
  const trainable = new Set(trained);
  const totalSteps = Math.ceil(data.length / options.batchSize) * options.epochs;
  const schedule: ScheduleConfig = {
    kind: 'cosine',
    maxLr: options.lr,
    minLr: options.lr / 10,
    warmupSteps: Math.round(options.warmupFraction * totalSteps),
    totalSteps,
    decayFraction: 0,
  };
  const order = new EpochOrder(data.length, options.seed);
  let step = 0;
  return {
    totalSteps,
    optimizer,
    get step() {
      return step;
    },
    async next() {
      const { batch } = responseBatch(loaded, order.itemsOf(step, options.batchSize).map((i) => data[i]));
      const loss = await backwardLoss(backend, trainable, (tape) => {
        const t = uploadBatch(tape, batch);
        return ops.crossEntropy(tape, model.forward(tape, t), t.targets, t.lossMask);
      });
      const lr = learningRate(step, schedule);
      await clippedUpdate(backend, optimizer, { name: 'sft', step: step + 1, lr, maxLr: options.lr, loss });
      step++;
      return { step, loss, lr };
    },
    position: () => ({ step, order: order.state() }),
    restore(position) {
      step = position.step;
      order.restore(position.order);
    },
    dispose: () => optimizer.dispose(),
  };
}

/** Mean negative log-likelihood of the responses given their prompts, nats per response token (stop token included). */
export async function responseNll(loaded: LoadedModel, data: readonly Demonstration[], batchSize = 16): Promise<number> {
  const { model, backend } = loaded;
  let total = 0;
  let tokens = 0;
  for (let start = 0; start < data.length; start += batchSize) {
    const { batch } = responseBatch(loaded, data.slice(start, start + batchSize));
    const count = batch.lossMask.reduce((a, m) => a + m, 0);
    const tape = new Tape(backend, false);
    try {
      const t = uploadBatch(tape, batch);
      total += (await backend.read(ops.crossEntropy(tape, model.forward(tape, t), t.targets, t.lossMask).value))[0] * count;
    } finally {
      tape.release();
    }
    tokens += count;
  }
  return total / tokens;
}
