import type { ObjectiveContext, Rng } from '@unilab/core';

/**
 * Masked-token corruption shared by BERT and UniLM (Devlin et al. 2019, §3.1 "Task #1"; Dong et al. 2019, §2.2):
 * a fraction of the positions is chosen for prediction; a chosen token becomes [MASK] 80% of the time, a random
 * token 10% of the time and stays itself 10% of the time. The loss is on the chosen positions only.
 */
export interface MaskedTokenSettings {
  /** Fraction of the positions chosen for prediction (0.15 in both papers). */
  maskRatio: number;
  /** Probability that a chosen run is a bigram or trigram instead of one token (UniLM: 0.2; BERT: 0). */
  ngramProbability: number;
}

/**
 * Chosen positions among `candidates` (positions of one sequence): exactly max(1, round(ratio × count)) of them.
 * Runs start at random candidates; a run is one token, or with `ngramProbability` two or three (equally likely),
 * cut where the chosen count is reached.
 */
export function choosePredictionPositions(candidates: readonly number[], settings: MaskedTokenSettings, rng: Rng): number[] {
  const goal = Math.min(candidates.length, Math.max(1, Math.round(settings.maskRatio * candidates.length)));
  const chosen = new Set<number>();
  while (chosen.size < goal) {
    const start = rng.int(candidates.length);
    const run = rng.uniform() < settings.ngramProbability ? 2 + rng.int(2) : 1;
    for (let k = start; k < start + run && k < candidates.length && chosen.size < goal; k++) chosen.add(candidates[k]);
  }
  return [...chosen].sort((a, b) => a - b);
}

/** Draws random replacement tokens among the ordinary (non-special) ids of the vocabulary. */
export function ordinaryTokenDrawer(context: ObjectiveContext, objective: string): (rng: Rng) => number {
  const specials = new Set(Object.values(context.specialTokens));
  if (context.vocabSize - specials.size < 1) throw new Error(`${objective}: the vocabulary has no ordinary tokens to draw`);
  return (rng) => {
    for (;;) {
      const id = rng.int(context.vocabSize);
      if (!specials.has(id)) return id;
    }
  };
}

/**
 * The 80/10/10 corruption of `sequence` at `positions`: returns the model's input tokens, and targets/loss mask with
 * the original token at each chosen position.
 */
export function maskTokens(
  sequence: readonly number[],
  positions: readonly number[],
  maskId: number,
  randomToken: (rng: Rng) => number,
  rng: Rng,
): { tokens: number[]; targets: number[]; lossMask: number[] } {
  const tokens = [...sequence];
  const targets = sequence.map(() => 0);
  const lossMask = sequence.map(() => 0);
  for (const p of positions) {
    const u = rng.uniform();
    tokens[p] = u < 0.8 ? maskId : u < 0.9 ? randomToken(rng) : sequence[p];
    targets[p] = sequence[p];
    lossMask[p] = 1;
  }
  return { tokens, targets, lossMask };
}
