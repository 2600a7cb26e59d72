import { AdamW, Rng, Tape, learningRate, ops, type Backend, type Model, type Parameter, type ScheduleConfig, type Tokenizer } from '@unilab/core';
import type { LoadedModel, ModelPresentation } from '@unilab/runner';
import {
  classificationBatch,
  classificationLoss,
  classifierLogits,
  createClassificationHead,
  encodeForClassification,
  headParameters,
  inputReading,
  type ClassificationHead,
  type InputReading,
  type Pooling,
} from '../finetune/classifier.ts';
import { wilsonInterval } from '../stats/proportion.ts';
import type { ComparisonRecord } from './alignment-jsonl.ts';
import { backwardLoss, clippedUpdate } from '../finetune/training-step.ts';
import { EpochOrder } from './epoch-order.ts';
import { runToEnd, type StepwiseRun } from './stepwise-run.ts';

/**
 * InstructGPT's reward model (Ouyang et al. 2022 §3.5): the pre-trained network with a scalar head reading
 * prompt + response, trained on comparisons with the pairwise (Bradley-Terry) loss −log σ(r(x, y_w) − r(x, y_l)).
 * The head and the pooling are the fine-tuning classifier's (finetune/classifier.ts) with one output; the pairwise
 * loss is that classifier's cross-entropy over the two scores of a pair as two logits with the chosen one as the
 * label, since −log softmax([r_w, r_l])_0 = −log σ(r_w − r_l): no new op.
 */
export interface RewardModel {
  model: Model;
  /** How its network reads a text (from what its architecture declares it consumes). */
  reading: InputReading;
  tokenizer: Tokenizer;
  backend: Backend;
  head: ClassificationHead;
  pooling: Pooling;
  /** Texts are cut to this many tokens (eos included). */
  maxTokens: number;
}

export interface RewardOptions {
  lr: number;
  epochs: number;
  /** Comparisons per step. */
  batchSize: number;
  weightDecay: number;
  seed: number;
}

export const DEFAULT_REWARD_OPTIONS: RewardOptions = { lr: 1e-3, epochs: 2, batchSize: 8, weightDecay: 0, seed: 1 };

/** The network a reward model starts from, with what its architecture declares it reads (loadModel and loadedModel attach it). */
export type RewardBase = Pick<LoadedModel, 'model' | 'tokenizer' | 'backend' | 'seqLen'> & { presentation: Pick<ModelPresentation, 'consumes'> };

export function createRewardModel(base: RewardBase, seed: number, pooling: Pooling = 'last'): RewardModel {
  const head = createClassificationHead(base.backend, new Rng(seed), base.model, 1, 'a reward model');
  const reading = inputReading(base.presentation.consumes);
  return { model: base.model, reading, tokenizer: base.tokenizer, backend: base.backend, head, pooling, maxTokens: base.seqLen };
}

/** The parameters a full reward-model fine-tune updates: the network's and the head's. */
export function rewardParameters(rm: RewardModel): Parameter[] {
  return [...rm.model.params, ...headParameters(rm.head)];
}

function scoresOf(tape: Tape, rm: RewardModel, texts: readonly string[]) {
  const inputs = encodeForClassification(rm.tokenizer, texts, rm.maxTokens);
  const batch = classificationBatch(rm.reading, rm.pooling, inputs, texts.map(() => 0), rm.tokenizer.specialTokens.pad ?? 0);
  return classifierLogits(tape, rm.model, rm.head, batch);
}

/** r(x, y) of each prompt + response, without recording gradients. */
export async function rewardScores(rm: RewardModel, examples: readonly { prompt: string; response: string }[], batchSize = 16): Promise<number[]> {
  const out: number[] = [];
  for (let start = 0; start < examples.length; start += batchSize) {
    const tape = new Tape(rm.backend, false);
    try {
      out.push(...(await rm.backend.read(scoresOf(tape, rm, examples.slice(start, start + batchSize).map((e) => e.prompt + e.response)).value)));
    } finally {
      tape.release();
    }
  }
  return out;
}

/** Share of comparisons the reward model ranks as labelled (r_w > r_l; a tie counts one half), with a Wilson interval. */
export async function pairwiseAccuracy(rm: RewardModel, pairs: readonly ComparisonRecord[]): Promise<{ accuracy: number; n: number; ci95: { low: number; high: number } }> {
  const chosen = await rewardScores(rm, pairs.map((p) => ({ prompt: p.prompt, response: p.chosen })));
  const rejected = await rewardScores(rm, pairs.map((p) => ({ prompt: p.prompt, response: p.rejected })));
  const wins = chosen.reduce((a, r, i) => a + (r > rejected[i] ? 1 : r === rejected[i] ? 0.5 : 0), 0);
  const [low, high] = wilsonInterval(Math.round(wins), pairs.length);
  return { accuracy: wins / pairs.length, n: pairs.length, ci95: { low, high } };
}

/** Train on comparisons with the pairwise loss; returns the mean loss of every step. */
export async function trainRewardModel(rm: RewardModel, trained: readonly Parameter[], pairs: readonly ComparisonRecord[], options: RewardOptions = DEFAULT_REWARD_OPTIONS): Promise<number[]> {
  return (await runToEnd(rewardModelRun(rm, trained, pairs, options))).map((f) => f.loss);
}

/** Reward-model training one step at a time (an alignment job checkpoints and resumes it mid-stage). */
export function rewardModelRun(rm: RewardModel, trained: readonly Parameter[], pairs: readonly ComparisonRecord[], options: RewardOptions = DEFAULT_REWARD_OPTIONS): StepwiseRun {
  if (pairs.length === 0) throw new Error('reward model: no comparisons');
  const { backend } = rm;
  const optimizer = new AdamW(backend, [...trained], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: options.weightDecay, clipNorm: 1 });
  const trainable = new Set(trained);
  const totalSteps = Math.ceil(pairs.length / options.batchSize) * options.epochs;
  const schedule: ScheduleConfig = { kind: 'cosine', maxLr: options.lr, minLr: options.lr / 10, warmupSteps: 0, totalSteps, decayFraction: 0 };
  const order = new EpochOrder(pairs.length, options.seed);
  let step = 0;
  return {
    totalSteps,
    optimizer,
    get step() {
      return step;
    },
    async next() {
      const mine = order.itemsOf(step, options.batchSize).map((i) => pairs[i]);
      // Rows 2i and 2i+1 are pair i's chosen and rejected texts: the [2B, 1] scores read as [B, 2] logits, label 0.
      const texts = mine.flatMap((p) => [p.prompt + p.chosen, p.prompt + p.rejected]);
      const loss = await backwardLoss(backend, trainable, (tape) =>
        classificationLoss(tape, ops.reshape(tape, scoresOf(tape, rm, texts), [mine.length, 2]), new Int32Array(mine.length)),
      );
      const lr = learningRate(step, schedule);
      await clippedUpdate(backend, optimizer, { name: 'reward model', step: step + 1, lr, maxLr: options.lr, loss });
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
