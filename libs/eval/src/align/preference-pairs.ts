import { Rng } from '@unilab/core';
import type { InstructionExample } from './instruction-task.ts';

/**
 * A comparison as InstructGPT's labellers give them (Ouyang et al. 2022): a prompt, the response preferred and the one
 * rejected. Here the verifier ranks them, then each pair is flipped with probability `noiseRate`, because human
 * comparisons disagree with each other and a method that needs clean labels would not survive real ones. The rate is
 * a choice of the data set, not a figure from a paper; `flipped` records which pairs the noise reversed, so a reader
 * can measure accuracy against the verifier rather than against the noisy label.
 */
export interface PreferencePair {
  task: string;
  prompt: string;
  chosen: string;
  rejected: string;
  /** True where the noise swapped a verified response into `rejected`. */
  flipped: boolean;
}

/** Default share of pairs whose label the noise reverses. */
export const DEFAULT_PREFERENCE_NOISE = 0.2;

export function preferencePairs(examples: readonly InstructionExample[], noiseRate: number, seed: number): PreferencePair[] {
  if (!(noiseRate >= 0 && noiseRate < 0.5)) throw new Error(`preference noise rate must be in [0, 0.5), got ${noiseRate} (at 0.5 the labels carry no preference)`);
  const rng = new Rng(seed);
  return examples.map((e) => {
    const flipped = rng.uniform() < noiseRate;
    return flipped
      ? { task: e.task, prompt: e.prompt, chosen: e.wrong, rejected: e.response, flipped }
      : { task: e.task, prompt: e.prompt, chosen: e.response, rejected: e.wrong, flipped };
  });
}
