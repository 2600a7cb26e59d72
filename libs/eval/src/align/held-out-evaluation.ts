import { generate, type LoadedModel } from '@unilab/runner';
import { bootstrapMean, type Estimate } from '../stats/bootstrap.ts';
import { comparePaired } from '../stats/compare.ts';
import { wilsonInterval } from '../stats/proportion.ts';
import { sampledKl } from './policy-readings.ts';
import { rewardScores, type RewardModel } from './reward-model.ts';
import type { PromptVerifier } from './response-scorer.ts';

/**
 * How an aligned model does on held-out prompts, judged as the study judges every stage: the greedy answer of each
 * prompt (up to the stop token or `maxTokens`) checked by the verifier, with a Wilson interval; the reward model's
 * mean score of those answers with a bootstrap interval (its opinion, reported beside the verifier's, never instead);
 * and the KL to the SFT model on responses sampled from the model (policy-readings.ts).
 */
export interface HeldOutFigures {
  /** Verdict of each prompt's greedy answer, in the prompts' order (for paired comparisons). */
  verdicts: boolean[];
  answers: string[];
  verifier: { correct: number; n: number; rate: number; ci95: { low: number; high: number } };
  reward: Estimate | null;
  kl: { kl: number; n: number } | null;
}

export interface HeldOutOptions {
  verify: PromptVerifier;
  rewardModel?: RewardModel;
  /** The SFT model, to measure KL to it. */
  reference?: LoadedModel;
  maxTokens: number;
  /** Seeds the responses sampled for the KL. */
  seed: number;
}

export async function heldOutEvaluation(loaded: LoadedModel, prompts: readonly string[], options: HeldOutOptions): Promise<HeldOutFigures> {
  if (prompts.length === 0) throw new Error('held-out evaluation: no prompts');
  const answers: string[] = [];
  for (const prompt of prompts) answers.push(await generate(loaded, prompt, { maxTokens: options.maxTokens, seed: 0, temperature: 0, topK: 0, topP: 1 }));
  const verdicts = prompts.map((prompt, i) => {
    const v = options.verify(prompt, answers[i]);
    if (v === null) throw new Error(`held-out evaluation: no verifier for the prompt ${JSON.stringify(prompt.slice(0, 60))}`);
    return v;
  });
  const correct = verdicts.filter((v) => v).length;
  const [low, high] = wilsonInterval(correct, prompts.length);
  const reward = options.rewardModel ? bootstrapMean(await rewardScores(options.rewardModel, prompts.map((prompt, i) => ({ prompt, response: answers[i] })))) : null;
  const kl = options.reference ? await sampledKl(loaded, options.reference, prompts, options.maxTokens, options.seed) : null;
  return { verdicts, answers, verifier: { correct, n: prompts.length, rate: correct / prompts.length, ci95: { low, high } }, reward, kl };
}

/**
 * Win rate of model A against model B on the same prompts, judged by the verifier: A wins a prompt when its answer
 * passes and B's does not, loses in the reverse case, and ties when both pass or both fail. The win rate counts a tie
 * as half a win (0.5 = no difference), with a bootstrap interval over prompts; the exact McNemar test on the prompts
 * that were not ties says whether A and B differ.
 */
export interface WinRate {
  wins: number;
  losses: number;
  ties: number;
  n: number;
  /** (wins + ties / 2) / n with its 95% bootstrap interval. */
  winRate: Estimate;
  /** Two-sided exact McNemar p-value. */
  pValue: number;
}

export function pairedWinRate(a: readonly boolean[], b: readonly boolean[], seed = 0): WinRate {
  if (a.length !== b.length || a.length === 0) throw new Error(`win rate: both models must answer the same prompts, got ${a.length} and ${b.length}`);
  const score = a.map((x, i) => (x === b[i] ? 0.5 : x ? 1 : 0));
  return {
    wins: score.filter((s) => s === 1).length,
    losses: score.filter((s) => s === 0).length,
    ties: score.filter((s) => s === 0.5).length,
    n: a.length,
    winRate: bootstrapMean(score, { seed }),
    pValue: comparePaired(a, b).pValue!,
  };
}
