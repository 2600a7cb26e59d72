import type { Rng } from '../rng.ts';

export interface SamplingOptions {
  /** Softmax temperature; 0 means greedy (argmax). */
  temperature: number;
  /** Keep only the k most likely tokens (0 = all). */
  topK: number;
  /** Nucleus sampling (Holtzman et al. 2020): keep the smallest set of tokens whose probability reaches p (1 = all). */
  topP: number;
}

/** Draw the next token id from one row of logits. Special tokens can be excluded with `banned`. */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, rng: Rng, banned: ReadonlySet<number> = new Set()): number {
  const ids: number[] = [];
  for (let i = 0; i < logits.length; i++) if (!banned.has(i)) ids.push(i);
  if (ids.length === 0) throw new Error('sampleToken: every token is banned');
  if (options.temperature <= 0) return ids.reduce((best, i) => (logits[i] > logits[best] ? i : best), ids[0]);
  ids.sort((a, b) => logits[b] - logits[a]);
  const kept = options.topK > 0 ? ids.slice(0, options.topK) : ids;
  const max = logits[kept[0]];
  const weights = kept.map((i) => Math.exp((logits[i] - max) / options.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let cut = kept.length;
  if (options.topP < 1) {
    let mass = 0;
    for (let j = 0; j < kept.length; j++) {
      mass += weights[j] / total;
      // A small tolerance so a prefix whose mass equals p up to rounding counts as reaching it.
      if (mass >= options.topP - 1e-9) {
        cut = j + 1;
        break;
      }
    }
  }
  const nucleus = weights.slice(0, cut);
  const sum = nucleus.reduce((a, b) => a + b, 0);
  let u = rng.uniform() * sum;
  for (let j = 0; j < cut; j++) {
    u -= nucleus[j];
    if (u <= 0) return kept[j];
  }
  return kept[cut - 1];
}
