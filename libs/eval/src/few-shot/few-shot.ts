import { Rng } from '@unilab/core';
import { proportion, type Proportion } from '../stats/proportion.ts';
import type { ChoiceItem, ChoiceTask } from '../tasks/choice-task.ts';
import { byteLength } from '../tasks/passages.ts';
import { choiceContinuation, fewShotContext } from './prompt.ts';
import type { ScoreFn, ScoreRequest } from './score-fn.ts';

/**
 * Few-shot in-context learning as GPT-3 (Brown et al. 2020, §2) and lm-evaluation-harness measure it: k solved
 * examples from the task's training pool, then the test item; every choice is scored by its log-likelihood as a
 * continuation and the model's answer is the most likely one.
 * - `acc`: the answer is the choice with the highest summed log-likelihood.
 * - `acc_norm`: the highest log-likelihood per UTF-8 byte of the choice (the harness divides by the choice's length
 *   so long answers are not penalised for having more tokens; bytes keep it independent of the tokenizer).
 * The shots for each test item are drawn afresh, without replacement, from the pool by one Rng seeded with `seed`,
 * so a (task, k, seed) always shows the same prompts.
 */
export interface FewShotOptions {
  shots: number;
  seed: number;
}

export interface FewShotItem {
  gold: number;
  /** Summed log-likelihood of each choice, nats. */
  logprobs: number[];
  pick: number;
  pickNorm: number;
}

export interface FewShotResult {
  task: string;
  shots: number;
  seed: number;
  n: number;
  acc: Proportion;
  accNorm: Proportion;
  chance: number;
  /** Prompts cut from the left to fit the model's window (with many shots, some shots are then partly lost). */
  truncated: number;
  items: FewShotItem[];
}

export async function evaluateFewShot(task: ChoiceTask, score: ScoreFn, options: FewShotOptions): Promise<FewShotResult> {
  const { shots, seed } = options;
  if (!Number.isInteger(shots) || shots < 0) throw new Error(`few-shot: shots must be a non-negative integer, got ${shots}`);
  if (shots > task.train.length) throw new Error(`few-shot: ${shots} shots asked of task ${task.name}, whose pool holds ${task.train.length} examples`);
  const test = task.test;
  const blank = test.findIndex((item) => item.choices.some((c) => c.length === 0));
  if (blank >= 0) throw new Error(`few-shot: task ${task.name} test item ${blank} has an empty choice (acc_norm divides by its length)`);
  const rng = new Rng(seed);
  const requests: ScoreRequest[] = [];
  for (const item of test) {
    const context = fewShotContext(drawShots(task.train, shots, rng), item);
    for (const choice of item.choices) requests.push({ context, continuation: choiceContinuation(choice) });
  }
  const scores = await score(requests);
  if (scores.length !== requests.length) throw new Error(`few-shot: the scorer returned ${scores.length} scores for ${requests.length} requests`);
  let next = 0;
  let truncated = 0;
  const items = test.map((item): FewShotItem => {
    const mine = scores.slice(next, next + item.choices.length);
    next += item.choices.length;
    if (mine.some((s) => s.truncated)) truncated++;
    const logprobs = mine.map((s) => s.logprob);
    return { gold: item.gold, logprobs, pick: argmax(logprobs), pickNorm: argmax(logprobs.map((lp, i) => lp / byteLength(item.choices[i]))) };
  });
  const right = items.filter((i) => i.pick === i.gold).length;
  const rightNorm = items.filter((i) => i.pickNorm === i.gold).length;
  return { task: task.name, shots, seed, n: items.length, acc: proportion(right, items.length), accNorm: proportion(rightNorm, items.length), chance: task.chance, truncated, items };
}

function drawShots(pool: readonly ChoiceItem[], k: number, rng: Rng): ChoiceItem[] {
  const index = Array.from(pool, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(index.length - i);
    [index[i], index[j]] = [index[j], index[i]];
  }
  return index.slice(0, k).map((i) => pool[i]);
}

/** Index of the largest value; the first on ties. */
function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
