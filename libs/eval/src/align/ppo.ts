import { AdamW, Rng, Tape, decodeCheckpoint, encodeCheckpoint, ops, restoreTensors, uploadBatch, type Parameter, type RngState } from '@unilab/core';
import type { LoadedModel } from '@unilab/runner';
import { clippedUpdate } from '../finetune/training-step.ts';
import { generalizedAdvantages, whiten } from './gae.ts';
import { checkKlControl, nextBeta, type KlControl } from './kl-controller.ts';
import { readPolicy } from './policy-readings.ts';
import { clippedPolicyLoss, clippedValueLoss } from './ppo-loss.ts';
import type { PromptVerifier, ResponseScorer } from './response-scorer.ts';
import { tokenResponseBatch, type ResponseBatch } from './response-batch.ts';
import { sampleRollouts } from './rollout.ts';
import { addLogProbGradient } from './token-distribution.ts';
import { injectGradient, positionValues, type ValueModel } from './value-head.ts';

/**
 * PPO for language models as InstructGPT runs it (Ouyang et al. 2022 §3.5, after Ziegler et al. 2019 and Stiennon et
 * al. 2020). The policy starts as the SFT model; a frozen copy of it is the reference. Each iteration:
 *  1. samples a response to each of `rolloutsPerIteration` prompts from the policy (rollout.ts);
 *  2. scores each response once, at its end, with the reward model (or a verifier: response-scorer.ts), and gives
 *     every token the KL penalty −β(log π_old(a_t|s_t) − log π_ref(a_t|s_t)), so the per-token reward is
 *     r_t = −β·KL_t + [t = last]·score (InstructGPT Eq. 2, its γ·pretraining term left out: PPO, not PPO-ptx);
 *  3. estimates advantages by GAE(γ, λ) with the value model's V(s_t) (gae.ts, value-head.ts), whitened over the batch;
 *  4. runs `epochs` passes over the batch in shuffled minibatches of the clipped policy loss plus `valueCoef` times
 *     the clipped value loss (ppo-loss.ts), one AdamW update (clipped at global norm 1) per minibatch, policy and
 *     value parameters in one optimizer as in Ziegler et al.'s joint loss;
 *  5. updates β (kl-controller.ts).
 * The guard against reward hacking: the measured KL to the reference (nats per response) is checked against a budget
 * before any update of an iteration; past it the run stops, says so in the iteration's log (`stopped`) and refuses to
 * go on. A policy far from the SFT model is one exploiting the reward model more than getting better (Gao et al.
 * 2023's over-optimisation), so the budget is a hard limit where β is only a price.
 *
 * Everything that decides the next iteration (trained weights, AdamW moments, the RNG, β, the iteration count, the
 * log) is the run's state: `saveState` writes it as a unilab checkpoint and `restoreState` reads it back into a run
 * built the same way, which then continues bit-identically to one never interrupted.
 */
export interface PpoOptions {
  /** Iterations `run` goes to (a resumed run counts the ones before too). */
  iterations: number;
  /** Responses sampled per iteration (the rollout batch). */
  rolloutsPerIteration: number;
  /** Response length limit (tokens, the stop token included). */
  maxTokens: number;
  /** Passes over each rollout batch. */
  epochs: number;
  /** Responses per minibatch. */
  minibatchSize: number;
  lr: number;
  weightDecay: number;
  /** ε of the clipped policy loss (Schulman et al. 2017 use 0.2). */
  clip: number;
  /** ε_v of the clipped value loss. */
  valueClip: number;
  /** Weight of the value loss in the joint loss (Ziegler et al. 2019: 0.1). */
  valueCoef: number;
  /** GAE's discount γ and λ (Ziegler et al.: γ = 1, λ = 0.95). */
  gamma: number;
  lambda: number;
  kl: KlControl;
  /** Stop when the mean KL to the reference exceeds this (nats per response); Infinity: no budget. */
  klBudget: number;
  /**
   * Scale the scores to mean 0 and standard deviation 1 over the first iteration's rollouts (the SFT model's own
   * responses), fixed from then on, as Ziegler et al. 2019 §2.2 normalise their reward model: a reward model's scale is
   * arbitrary (the Bradley-Terry loss sees differences only), and β, the value clip and the KL budget assume unit scale.
   */
  normalizeReward: boolean;
  seed: number;
}

export const DEFAULT_PPO_OPTIONS: PpoOptions = {
  iterations: 20,
  rolloutsPerIteration: 32,
  maxTokens: 12,
  epochs: 2,
  minibatchSize: 8,
  lr: 1e-4,
  weightDecay: 0,
  clip: 0.2,
  valueClip: 0.2,
  valueCoef: 0.1,
  gamma: 1,
  lambda: 0.95,
  kl: { kind: 'adaptive', beta: 0.1, target: 2, horizon: 256 },
  klBudget: 10,
  normalizeReward: true,
  seed: 1,
};

/** What one iteration measured (on its rollouts, before its updates) and how its updates went. */
export interface PpoIteration {
  /** 1-based. */
  iteration: number;
  /** Mean score of the rollouts as the scorer gave it (the reward model's, or the verifier's 0/1), before any normalisation. */
  reward: number;
  /** Share of rollouts the verifier accepts; null without a verifier. */
  verifierSuccess: number | null;
  /** Mean KL to the reference, nats per response (Σ_t log π − log π_ref on the sampled tokens). */
  kl: number;
  /** Mean entropy of the policy per response token, nats. */
  entropy: number;
  /** Mean response length, tokens (stop token included). */
  responseTokens: number;
  /** β this iteration's rewards were computed with. */
  beta: number;
  /** Means over the iteration's minibatch updates (0 when it made none). */
  policyLoss: number;
  valueLoss: number;
  clipFraction: number;
  approxKl: number;
  /** Set when this iteration hit the KL budget and made no update: why the run stopped. */
  stopped?: string;
}

/** Everything a run trains with; the caller builds it (the CLI from checkpoints, a test from a model trained in place). */
export interface PpoParts {
  /** The policy, loaded from the SFT model. */
  policy: LoadedModel;
  /** Which of its parameters train (every one, or the LoRA factors / adapters a fine-tuning method added). */
  trained: readonly Parameter[];
  /** The SFT model again, never updated. */
  reference: LoadedModel;
  value: ValueModel;
  /** Which of the value model's parameters train; on the policy's backend. */
  valueTrained: readonly Parameter[];
  scorer: ResponseScorer;
  /** Instruction prompts the rollouts are sampled for. */
  prompts: readonly string[];
  /** Logs the share of rollouts it accepts each iteration (whatever the scorer). */
  verify?: PromptVerifier;
}

export interface PpoEvents {
  /** Awaited before the next iteration starts (a caller may save the state here). */
  onIteration?(it: PpoIteration): void | Promise<void>;
}

/** A minibatch's per-token figures, aligned with its layout's `scoredAt`. */
export interface PpoMinibatch {
  layout: ResponseBatch;
  oldLogProb: number[][];
  oldValues: number[][];
  advantages: number[][];
  returns: number[][];
}

export interface PpoLosses {
  policyLoss: number;
  valueLoss: number;
  clipFraction: number;
  approxKl: number;
}

/**
 * One backward pass of L^CLIP + c·L^V on a minibatch: the policy's logits and the value model's values come from one
 * forward each; the losses and their gradients with respect to log π(a_t|s_t) and V(s_t) are computed in float64
 * (ppo-loss.ts) from the values read back, turned into gradients of the logits (onehot − softmax) and injected into
 * the tape, whose backward accumulates ∂/∂θ into the `trainable` parameters' gradients.
 */
export async function ppoBackward(
  policy: LoadedModel,
  value: ValueModel,
  trainable: ReadonlySet<Parameter>,
  mb: PpoMinibatch,
  options: Pick<PpoOptions, 'clip' | 'valueClip' | 'valueCoef'>,
): Promise<PpoLosses> {
  const { backend } = policy;
  const { batch, scoredAt } = mb.layout;
  const tape = new Tape(backend, true, false, trainable as Set<Parameter>);
  try {
    const logitsVar = policy.model.forward(tape, uploadBatch(tape, batch));
    const logits = await backend.read(logitsVar.value);
    const vocab = logitsVar.shape[logitsVar.shape.length - 1];
    const valuesVar = positionValues(tape, value, batch);
    const values = await backend.read(valuesVar.value);
    const at = scoredAt.flat();
    const policyLoss = clippedPolicyLoss(
      at.map((i) => logits[i * vocab + batch.targets[i]] - logSumExp(logits, vocab, i)),
      mb.oldLogProb.flat(),
      mb.advantages.flat(),
      options.clip,
    );
    const valueLoss = clippedValueLoss(at.map((i) => values[i]), mb.oldValues.flat(), mb.returns.flat(), options.valueClip);
    const logitGrad = new Float32Array(logits.length);
    const valueGrad = new Float32Array(values.length);
    at.forEach((i, j) => {
      addLogProbGradient(logitGrad, logits, vocab, i, batch.targets[i], policyLoss.gradLogProb[j]);
      valueGrad[i] += options.valueCoef * valueLoss.gradValue[j];
    });
    tape.backward(ops.add(tape, injectGradient(tape, logitsVar, logitGrad), injectGradient(tape, valuesVar, valueGrad)));
    return { policyLoss: policyLoss.loss, valueLoss: valueLoss.loss, clipFraction: policyLoss.clipFraction, approxKl: policyLoss.approxKl };
  } finally {
    tape.release();
  }
}

function logSumExp(logits: ArrayLike<number>, vocab: number, at: number): number {
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) max = Math.max(max, logits[at * vocab + v]);
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[at * vocab + v] - max);
  return max + Math.log(sum);
}

async function readValues(value: ValueModel, layout: ResponseBatch): Promise<number[][]> {
  const tape = new Tape(value.backend, false);
  try {
    const values = await value.backend.read(positionValues(tape, value, layout.batch).value);
    return layout.scoredAt.map((positions) => positions.map((i) => values[i]));
  } finally {
    tape.release();
  }
}

export interface PpoRun {
  readonly options: PpoOptions;
  /** Iterations done. */
  readonly iteration: number;
  readonly beta: number;
  readonly history: readonly PpoIteration[];
  /** Why the run stopped (the KL budget), or null while it may go on. */
  readonly stopped: string | null;
  /** One iteration; refuses once the run has stopped. */
  step(): Promise<PpoIteration>;
  /** Iterations until `options.iterations` or the KL budget stops the run. */
  run(events?: PpoEvents): Promise<PpoIteration[]>;
  /** The complete state as checkpoint bytes. */
  saveState(): Promise<Uint8Array>;
  /** Read a state `saveState` wrote, from a run built with the same parts and options. */
  restoreState(bytes: Uint8Array, source?: string): void;
  dispose(): void;
}

export const PPO_STATE_FORMAT = 'unilab.ppo-state.v1';

interface PpoSavedState {
  format: typeof PPO_STATE_FORMAT;
  options: PpoOptions;
  rng: RngState;
  beta: number;
  history: PpoIteration[];
  stopped: string | null;
  normalization: ScoreNormalization | null;
}

/** score ↦ (score − mean) / std, fixed at the first iteration. */
interface ScoreNormalization {
  mean: number;
  std: number;
}

function checkOptions(o: PpoOptions): void {
  const positiveInts: (keyof PpoOptions)[] = ['iterations', 'rolloutsPerIteration', 'maxTokens', 'epochs', 'minibatchSize'];
  for (const k of positiveInts) if (!Number.isInteger(o[k]) || (o[k] as number) < 1) throw new Error(`ppo: ${k} must be an integer >= 1, got ${o[k]}`);
  for (const k of ['lr', 'clip', 'valueClip', 'valueCoef', 'klBudget'] as const) if (!(o[k] > 0)) throw new Error(`ppo: ${k} must be > 0, got ${o[k]}`);
  for (const k of ['gamma', 'lambda'] as const) if (!(o[k] >= 0 && o[k] <= 1)) throw new Error(`ppo: ${k} must be in [0, 1], got ${o[k]}`);
  if (!(o.weightDecay >= 0)) throw new Error(`ppo: weightDecay must be >= 0, got ${o.weightDecay}`);
  checkKlControl(o.kl);
}

const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, x) => a + x, 0) / xs.length);

function checkParts(parts: PpoParts): void {
  const { policy, reference, value } = parts;
  if (parts.prompts.length === 0) throw new Error('ppo: no prompts to sample responses for');
  if (parts.trained.length === 0) throw new Error('ppo: no policy parameter to train');
  if (value.backend !== policy.backend) throw new Error('ppo: the value model must live on the policy\'s backend (one optimizer updates both)');
  if (reference.tokenizer.vocabSize !== policy.tokenizer.vocabSize) throw new Error(`ppo: the reference has a vocabulary of ${reference.tokenizer.vocabSize}, the policy ${policy.tokenizer.vocabSize}: the reference must be the SFT model the policy starts from`);
}

/** An iteration's rollouts and what its update reads of them, all under the weights before the update. */
interface Experience {
  rollouts: Awaited<ReturnType<typeof sampleRollouts>>;
  /** The policy's per-token log-probabilities and entropies of the responses. */
  old: Awaited<ReturnType<typeof readPolicy>>;
  oldValues: number[][];
  scores: number[];
  /** The verifier's accepted / rejected rollouts (those it could judge). */
  verdicts: boolean[];
  /** log π(token) − log π_ref(token) per response token: the per-token KL estimate (Ouyang et al. 2022, eq. 2). */
  tokenKl: number[][];
}

/** Sample rollouts for prompts drawn from `rng`, then read the policy, the reference, the value model and the scorer on them. */
async function gatherExperience(parts: PpoParts, options: PpoOptions, rng: Rng): Promise<Experience> {
  const { policy, reference, value, scorer } = parts;
  const prompts = Array.from({ length: options.rolloutsPerIteration }, () => parts.prompts[rng.int(parts.prompts.length)]);
  const rollouts = await sampleRollouts(policy, prompts, options.maxTokens, rng);
  const layout = tokenResponseBatch(policy, rollouts.map((r) => ({ input: r.input, target: r.response })));
  const old = await readPolicy(policy, layout);
  const ref = await readPolicy(reference, layout);
  const oldValues = await readValues(value, layout);
  const scores = await scorer.score(rollouts.map((r) => ({ prompt: r.prompt, response: r.text })));
  const verdicts = parts.verify ? rollouts.map((r) => parts.verify!(r.prompt, r.text)).filter((v): v is boolean => v !== null) : [];
  const tokenKl = old.logProb.map((lp, i) => lp.map((x, t) => x - ref.logProb[i][t]));
  return { rollouts, old, oldValues, scores, verdicts, tokenKl };
}

/**
 * Per-token rewards −β·KL, plus the (normalised) score on the last token (Ziegler et al. 2019; Ouyang et al. 2022
 * eq. 2), their GAE advantages and returns, and the advantages whitened over the iteration.
 */
function advantagesOf(e: Experience, beta: number, norm: ScoreNormalization, options: PpoOptions) {
  const rewards = e.tokenKl.map((k, i) => k.map((x, t) => -beta * x + (t === k.length - 1 ? (e.scores[i] - norm.mean) / norm.std : 0)));
  const gae = rewards.map((r, i) => generalizedAdvantages(r, e.oldValues[i], options.gamma, options.lambda));
  return { gae, advantages: whiten(gae.map((g) => g.advantages)) };
}

/** PPO's update: `epochs` passes over the rollouts in shuffled minibatches, one clipped step each (Schulman et al. 2017). */
async function updateOnExperience(
  parts: PpoParts,
  options: PpoOptions,
  rng: Rng,
  optimizer: AdamW,
  trainable: ReadonlySet<Parameter>,
  e: Experience,
  { gae, advantages }: ReturnType<typeof advantagesOf>,
): Promise<PpoLosses[]> {
  const { policy, value } = parts;
  const losses: PpoLosses[] = [];
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const order = rng.shuffle(Array.from(e.rollouts.keys()));
    for (let start = 0; start < order.length; start += options.minibatchSize) {
      const pick = order.slice(start, start + options.minibatchSize);
      const mb: PpoMinibatch = {
        layout: tokenResponseBatch(policy, pick.map((i) => ({ input: e.rollouts[i].input, target: e.rollouts[i].response }))),
        oldLogProb: pick.map((i) => e.old.logProb[i]),
        oldValues: pick.map((i) => e.oldValues[i]),
        advantages: pick.map((i) => advantages[i]),
        returns: pick.map((i) => gae[i].returns),
      };
      const l = await ppoBackward(policy, value, trainable, mb, options);
      await clippedUpdate(policy.backend, optimizer, { name: 'ppo', step: optimizer.stepCount + 1, lr: options.lr, maxLr: options.lr, loss: l.policyLoss + options.valueCoef * l.valueLoss });
      losses.push(l);
    }
  }
  return losses;
}

/** The scores' mean and standard deviation, fixed at the first iteration (a constant spread stands as 1). */
function scoreNormalization(scores: readonly number[]): ScoreNormalization {
  const m = mean(scores);
  return { mean: m, std: Math.sqrt(mean(scores.map((x) => (x - m) ** 2))) || 1 };
}

/** What an iteration reports before its update (the losses are filled in after it). */
function iterationRecord(iteration: number, { rollouts, old, scores, verdicts }: Experience, kl: number, beta: number): PpoIteration {
  return {
    iteration,
    reward: mean(scores),
    verifierSuccess: verdicts.length > 0 ? verdicts.filter((v) => v).length / verdicts.length : null,
    kl,
    entropy: mean(old.entropy.flat()),
    responseTokens: mean(rollouts.map((r) => r.response.length)),
    beta,
    policyLoss: 0,
    valueLoss: 0,
    clipFraction: 0,
    approxKl: 0,
  };
}

/** A state file's options against the run's: only `iterations` (where to stop) may differ. */
function checkSameOptions(saved: PpoOptions, options: PpoOptions, source: string): void {
  const differ = (Object.keys(options) as (keyof PpoOptions)[]).filter((k) => k !== 'iterations' && JSON.stringify(saved[k]) !== JSON.stringify(options[k]));
  if (differ.length > 0)
    throw new Error(`${source} was written by a run with other options: ${differ.map((k) => `${k} ${JSON.stringify(saved[k])} (now ${JSON.stringify(options[k])})`).join(', ')}; resume with the same ones`);
}

export function createPpoRun(parts: PpoParts, options: PpoOptions = DEFAULT_PPO_OPTIONS): PpoRun {
  checkOptions(options);
  checkParts(parts);
  const { backend } = parts.policy;
  const trainedAll = [...parts.trained, ...parts.valueTrained];
  const trainable = new Set(trainedAll);
  // Names in the state file: policy and value networks are the same architecture, so their names would collide.
  const saved = [...parts.trained.map((p) => ({ ...p, name: `policy/${p.name}` })), ...parts.valueTrained.map((p) => ({ ...p, name: `value/${p.name}` }))];
  const optimizer = new AdamW(backend, trainedAll, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: options.weightDecay, clipNorm: 1 });
  let rng = new Rng(options.seed);
  let beta = options.kl.beta;
  let history: PpoIteration[] = [];
  let stopped: string | null = null;
  let normalization: ScoreNormalization | null = null;

  async function step(): Promise<PpoIteration> {
    if (stopped) throw new Error(`ppo: the run has stopped and will not go on: ${stopped}`);
    const iteration = history.length + 1;
    const experience = await gatherExperience(parts, options, rng);
    const kl = mean(experience.tokenKl.map((k) => k.reduce((a, x) => a + x, 0)));
    if (options.normalizeReward && !normalization) normalization = scoreNormalization(experience.scores);
    const advantages = advantagesOf(experience, beta, normalization ?? { mean: 0, std: 1 }, options);
    const record = iterationRecord(iteration, experience, kl, beta);
    if (kl > options.klBudget) {
      stopped = `KL to the reference ${kl.toFixed(3)} nats per response exceeds the budget ${options.klBudget} at iteration ${iteration}: the policy has moved further from the SFT model than allowed (reward hacking guard); no update made, the run stops`;
      record.stopped = stopped;
      history.push(record);
      return record;
    }
    const losses = await updateOnExperience(parts, options, rng, optimizer, trainable, experience, advantages);
    record.policyLoss = mean(losses.map((l) => l.policyLoss));
    record.valueLoss = mean(losses.map((l) => l.valueLoss));
    record.clipFraction = mean(losses.map((l) => l.clipFraction));
    record.approxKl = mean(losses.map((l) => l.approxKl));
    beta = nextBeta(options.kl, { beta }, kl, experience.rollouts.length);
    history.push(record);
    return record;
  }

  return {
    options,
    get iteration() {
      return history.length;
    },
    get beta() {
      return beta;
    },
    get history() {
      return history;
    },
    get stopped() {
      return stopped;
    },
    step,
    async run(events = {}) {
      const out: PpoIteration[] = [];
      while (history.length < options.iterations && !stopped) {
        const it = await step();
        out.push(it);
        await events.onIteration?.(it);
      }
      return out;
    },
    async saveState() {
      const state: PpoSavedState = { format: PPO_STATE_FORMAT, options, rng: rng.state(), beta, history, stopped, normalization };
      return encodeCheckpoint(backend, saved, optimizer, { step: history.length, ppo: state });
    },
    restoreState(bytes, source = 'ppo state') {
      const checkpoint = decodeCheckpoint(bytes, source);
      const state = (checkpoint.state as { ppo?: PpoSavedState }).ppo;
      if (state?.format !== PPO_STATE_FORMAT) throw new Error(`${source} is not a PPO run's state (no ${PPO_STATE_FORMAT} in its header)`);
      // `iterations` only says where to stop, so a resumed run may go further; every other option shapes the updates.
      checkSameOptions(state.options, options, source);
      restoreTensors(backend, checkpoint, saved, optimizer, source);
      rng = new Rng(state.rng);
      beta = state.beta;
      history = state.history;
      stopped = state.stopped;
      normalization = state.normalization;
    },
    dispose() {
      optimizer.dispose();
    },
  };
}


