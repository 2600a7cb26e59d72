import { AdamW, Rng, Tape, learningRate, ops, uploadBatch, type Batch, type Parameter, type ScheduleConfig, type Var } from '@unilab/core';
import type { LoadedModel } from '@unilab/runner';
import type { ComparisonRecord } from './alignment-jsonl.ts';
import { responseBatch } from './response-batch.ts';
import { clippedUpdate } from '../finetune/training-step.ts';
import { EpochOrder } from './epoch-order.ts';
import { runToEnd, type StepwiseRun } from './stepwise-run.ts';

/**
 * Direct Preference Optimization (Rafailov et al. 2023, Eq. 7): from the SFT model π_ref, train π_θ on comparisons
 * (x, y_w, y_l) with
 *   L = −log σ(β [(log π_θ(y_w|x) − log π_ref(y_w|x)) − (log π_θ(y_l|x) − log π_ref(y_l|x))]),
 * the reward model of RLHF folded into the policy: r̂(x, y) = β log π_θ(y|x)/π_ref(y|x) is its implicit reward.
 * The reference is frozen, so its log-probabilities are constants: they are computed once, before the first update,
 * with the same batches the policy is scored with (same rows, same padding), so at step 0 both sides are the same
 * float32 numbers, every log-ratio is exactly 0 and the loss is exactly ln 2.
 *
 * log π(y|x) of one example is −(its response tokens) × (the masked mean cross-entropy over its rows alone), one
 * fused cross-entropy per example on the shared logits. The gradient of L reaches the model through a surrogate
 * Σ_e c_e · CE_e whose coefficients are ∂L/∂CE_e, computed from the values read back (the chain rule, split in two:
 * exact, not an approximation): ∂L/∂CE_w = β σ(−z) n_w / B and ∂L/∂CE_l = −β σ(−z) n_l / B, z the bracket above.
 */
export interface DpoOptions {
  /** β: how far the policy may move from the reference (Rafailov et al. use 0.1 to 0.5). */
  beta: number;
  lr: number;
  epochs: number;
  /** Comparisons per step (each gives two rows, or more in a mask-query layout). */
  batchSize: number;
  weightDecay: number;
  /** Seeds the grouping and the order of the comparisons. */
  seed: number;
}

export const DEFAULT_DPO_OPTIONS: DpoOptions = { beta: 0.1, lr: 1e-4, epochs: 1, batchSize: 8, weightDecay: 0, seed: 1 };

/** The comparisons of one step, laid out once: chosen responses are examples 0..B−1, rejected ones B..2B−1. */
export interface ComparisonBatch {
  pairs: ComparisonRecord[];
  batch: Batch;
  /** Response tokens of each example (stop token included). */
  scored: number[];
  /** For each example, the loss mask of its rows alone. */
  masks: Float32Array[];
  /** log π_ref of each example, filled before training. */
  reference: number[];
}

export interface PreferenceFigures {
  /** Mean DPO loss. */
  loss: number;
  /** Share of comparisons whose implicit reward ranks chosen above rejected (a tie counts one half). */
  accuracy: number;
  /** Mean implicit reward margin β[(log-ratio of chosen) − (log-ratio of rejected)], nats. */
  margin: number;
  n: number;
}

export interface DpoStep extends PreferenceFigures {
  step: number;
  lr: number;
}

export interface DpoEvents {
  onStep?(step: DpoStep, totalSteps: number): void;
}

/**
 * Comparisons laid out as one batch, with log π_ref taken from the model as it is now (the reference, frozen from
 * here on).
 */
export async function comparisonBatch(loaded: LoadedModel, pairs: readonly ComparisonRecord[]): Promise<ComparisonBatch> {
  const examples = [...pairs.map((p) => ({ prompt: p.prompt, response: p.chosen })), ...pairs.map((p) => ({ prompt: p.prompt, response: p.rejected }))];
  const { batch, scored, rowExample } = responseBatch(loaded, examples);
  const masks = examples.map((_, e) => {
    const mask = new Float32Array(batch.lossMask.length);
    rowExample.forEach((owner, r) => {
      if (owner === e) mask.set(batch.lossMask.subarray(r * batch.seqLen, (r + 1) * batch.seqLen), r * batch.seqLen);
    });
    return mask;
  });
  const group: ComparisonBatch = { pairs: [...pairs], batch, scored, masks, reference: [] };
  group.reference = await groupLogProbs(loaded, group);
  return group;
}

async function comparisonBatches(loaded: LoadedModel, pairs: readonly ComparisonRecord[], batchSize: number): Promise<ComparisonBatch[]> {
  const out: ComparisonBatch[] = [];
  for (let start = 0; start < pairs.length; start += batchSize) out.push(await comparisonBatch(loaded, pairs.slice(start, start + batchSize)));
  return out;
}

/** Loss, accuracy and margin of the policy as it is now against the batch's reference. */
export async function comparisonFigures(loaded: LoadedModel, group: ComparisonBatch, beta: number): Promise<PreferenceFigures> {
  return figures(preferenceLogits(group, await groupLogProbs(loaded, group), beta));
}

/**
 * One DPO backward pass: accumulates ∂L/∂θ of the batch's mean loss into the gradients of the `trainable` parameters
 * (the optimizer's update consumes them) and returns the figures of the policy before the update.
 */
export async function dpoBackward(loaded: LoadedModel, trainable: ReadonlySet<Parameter>, group: ComparisonBatch, beta: number): Promise<PreferenceFigures> {
  const tape = new Tape(loaded.backend, true, false, trainable as Set<Parameter>);
  try {
    const ces = exampleCrossEntropies(tape, loaded, group);
    const zs = preferenceLogits(group, await readLogProbs(loaded, group, ces), beta);
    const b = group.pairs.length;
    // ∂L/∂CE_e: L = mean −log σ(z), z = β(−n_w CE_w − ref_w + n_l CE_l + ref_l).
    const coefficient = (e: number) => {
      const pull = (beta * sigmoid(-zs[e % b])) / b;
      return e < b ? pull * group.scored[e] : -pull * group.scored[e];
    };
    tape.backward(ces.map((ce, e) => ops.scale(tape, ce, coefficient(e))).reduce((a, v) => ops.add(tape, a, v)));
    return figures(zs);
  } finally {
    tape.release();
  }
}

/** Each example's masked mean cross-entropy as a Var on `tape`, from one forward pass over the group's rows. */
function exampleCrossEntropies(tape: Tape, loaded: LoadedModel, group: ComparisonBatch): Var[] {
  const { model, backend } = loaded;
  const t = uploadBatch(tape, group.batch);
  const logits = model.forward(tape, t);
  const { batchSize: b, seqLen } = group.batch;
  return group.masks.map((mask) => ops.crossEntropy(tape, logits, t.targets, tape.own(backend.fromArray(mask, [b, seqLen], 'f32'))));
}

async function readLogProbs(loaded: LoadedModel, group: ComparisonBatch, vars: readonly Var[]): Promise<number[]> {
  const out: number[] = [];
  for (const [e, v] of vars.entries()) out.push(-group.scored[e] * (await loaded.backend.read(v.value))[0]);
  return out;
}

async function groupLogProbs(loaded: LoadedModel, group: ComparisonBatch): Promise<number[]> {
  const tape = new Tape(loaded.backend, false);
  try {
    return await readLogProbs(loaded, group, exampleCrossEntropies(tape, loaded, group));
  } finally {
    tape.release();
  }
}

const logSigmoid = (z: number) => (z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z)));
const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** z_i = β[(π_w − ref_w) − (π_l − ref_l)] of each comparison of a group, from its examples' log-probabilities. */
function preferenceLogits(group: ComparisonBatch, policy: readonly number[], beta: number): number[] {
  const b = group.pairs.length;
  return group.pairs.map((_, i) => beta * (policy[i] - group.reference[i] - (policy[b + i] - group.reference[b + i])));
}

function figures(zs: readonly number[]): PreferenceFigures {
  const n = zs.length;
  return {
    loss: zs.reduce((a, z) => a - logSigmoid(z), 0) / n,
    accuracy: zs.reduce((a, z) => a + (z > 0 ? 1 : z === 0 ? 0.5 : 0), 0) / n,
    margin: zs.reduce((a, z) => a + z, 0) / n,
    n,
  };
}

/**
 * A DPO run prepared on `loaded` (the SFT model, which becomes the policy): the reference log-probabilities of the
 * training and held-out comparisons are computed now, while policy = reference.
 */
export interface DpoRun {
  train(events?: DpoEvents): Promise<DpoStep[]>;
  /** The same training one step at a time (an alignment job checkpoints and resumes it mid-stage). */
  start(): StepwiseRun<DpoStep>;
  /** Loss, preference accuracy and implicit reward margin of the policy on the held-out comparisons. */
  heldOut(): Promise<PreferenceFigures>;
  totalSteps: number;
}

export async function prepareDpo(
  loaded: LoadedModel,
  trained: readonly Parameter[],
  train: readonly ComparisonRecord[],
  heldOut: readonly ComparisonRecord[],
  options: DpoOptions = DEFAULT_DPO_OPTIONS,
): Promise<DpoRun> {
  if (train.length === 0) throw new Error('dpo: no training comparisons');
  if (trained.length === 0) throw new Error('dpo: no parameter to train');
  if (!(options.beta > 0)) throw new Error(`dpo: beta must be > 0, got ${options.beta}`);
  const rng = new Rng(options.seed);
  const trainGroups = await comparisonBatches(loaded, rng.shuffle([...train]), options.batchSize);
  // The same stream then orders the groups at every epoch.
  const orderSeed = rng.state();
  const heldOutGroups = await comparisonBatches(loaded, heldOut, options.batchSize);
  const totalSteps = trainGroups.length * options.epochs;
  const { backend } = loaded;
  const start = (): StepwiseRun<DpoStep> => {
    const optimizer = new AdamW(backend, [...trained], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: options.weightDecay, clipNorm: 1 });
    const trainable = new Set(trained);
    const schedule: ScheduleConfig = { kind: 'cosine', maxLr: options.lr, minLr: options.lr / 10, warmupSteps: 0, totalSteps, decayFraction: 0 };
    const order = new EpochOrder(trainGroups.length, orderSeed);
    let step = 0;
    return {
      totalSteps,
      optimizer,
      get step() {
        return step;
      },
      async next() {
        const group = trainGroups[order.itemsOf(step, 1)[0]];
        const before = await dpoBackward(loaded, trainable, group, options.beta);
        const lr = learningRate(step, schedule);
        await clippedUpdate(backend, optimizer, { name: 'dpo', step: step + 1, lr, maxLr: options.lr, loss: null });
        step++;
        return { step, lr, ...before };
      },
      position: () => ({ step, order: order.state() }),
      restore(position) {
        step = position.step;
        order.restore(position.order);
      },
      dispose: () => optimizer.dispose(),
    };
  };
  return {
    totalSteps,
    start,
    async heldOut() {
      if (heldOutGroups.length === 0) throw new Error('dpo: no held-out comparisons');
      const zs: number[] = [];
      for (const g of heldOutGroups) zs.push(...preferenceLogits(g, await groupLogProbs(loaded, g), options.beta));
      return figures(zs);
    },
    train: (events = {}) => runToEnd(start(), (step) => events.onStep?.(step, totalSteps)),
  };
}
