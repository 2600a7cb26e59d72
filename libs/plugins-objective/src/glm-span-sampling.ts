import type { Rng } from '@unilab/core';
import type { ObjectiveCounts } from './packing.ts';
import { bump } from './pieces.ts';
import type { NoiseSpan } from './span-corruption.ts';

/**
 * Where GLM puts its blanks (Du et al. 2022, §2.1 and §2.3 "multi-task pretraining"; the reference code's
 * ConstructBlockStrategy). Three kinds, each with its own mask token:
 * - token-level ([MASK]): span lengths from Poisson(λ=3) restricted to 1..39, drawn until at least 15% of the piece
 *   is covered, placed at random with at least one kept token between neighbours;
 * - sentence-level ([sMASK]): whole sentences, in random order, until at least 15% is covered;
 * - document-level ([gMASK]): one suffix span whose length is uniform between a minimum ratio and the whole piece
 *   but one token.
 */

/** A Poisson(λ) length restricted to [1, maxLength] (GLM's block_length_distribution), by rejection. */
export function truncatedPoissonLength(lambda: number, maxLength: number, rng: Rng): number {
  for (;;) {
    const length = rng.poisson(lambda);
    if (length >= 1 && length <= maxLength) return length;
  }
}

/** The mean of Poisson(λ) restricted to [1, maxLength]: what token-level spans average. */
export function truncatedPoissonMean(lambda: number, maxLength: number): number {
  let p = Math.exp(-lambda);
  let mass = 0;
  let sum = 0;
  for (let k = 1; k <= maxLength; k++) {
    p *= lambda / k;
    mass += p;
    sum += k * p;
  }
  return sum / mass;
}

/** The most token-level spans a piece of `length` can get: spans are drawn until the goal is met, each ≥ 1 long. */
export function maxTokenSpans(length: number, maskRatio: number): number {
  return Math.max(1, Math.floor(maskRatio * length));
}

/**
 * Token-level blanks. Bad input rule: spans that do not fit with one-token gaps and one kept token are dropped from
 * the end, and a single span too long for the piece is shortened to all but one token (counted as `shortenedSpans`).
 */
export function sampleTokenSpans(
  length: number,
  settings: { maskRatio: number; poissonLambda: number; maxSpanLength: number },
  rng: Rng,
  counts: ObjectiveCounts,
): NoiseSpan[] {
  const goal = maxTokenSpans(length, settings.maskRatio);
  const lengths: number[] = [];
  let masked = 0;
  while (masked < goal) {
    const spanLength = truncatedPoissonLength(settings.poissonLambda, settings.maxSpanLength, rng);
    lengths.push(spanLength);
    masked += spanLength;
  }
  while (masked + lengths.length > length) {
    bump(counts, 'shortenedSpans');
    if (lengths.length > 1) masked -= lengths.pop()!;
    else {
      lengths[0] = length - 1;
      masked = length - 1;
    }
  }
  // Uniform placement (the reference's sample_spans): sorted offsets into the room left after the spans and their
  // one-token gaps.
  const room = length - masked - lengths.length + 1;
  const places = lengths.map(() => rng.int(room + 1)).sort((a, b) => a - b);
  const spans: NoiseSpan[] = [];
  let offset = 0;
  lengths.forEach((spanLength, k) => {
    const start = offset + places[k];
    spans.push({ start, end: start + spanLength });
    offset += spanLength + 1;
  });
  return spans;
}

/** Sentences of a piece: runs ending with a sentence-end token (the last run may end without one). */
export function sentenceSpans(piece: ArrayLike<number>, sentenceEnds: ReadonlySet<number>): NoiseSpan[] {
  const spans: NoiseSpan[] = [];
  let start = 0;
  for (let i = 0; i < piece.length; i++) {
    if (sentenceEnds.has(piece[i])) {
      spans.push({ start, end: i + 1 });
      start = i + 1;
    }
  }
  if (start < piece.length) spans.push({ start, end: piece.length });
  return spans;
}

/** Sentence-level blanks: sentences in random order until at least `ratio` of the piece is covered. */
export function sampleSentenceSpans(piece: ArrayLike<number>, sentenceEnds: ReadonlySet<number>, ratio: number, rng: Rng): NoiseSpan[] {
  const sentences = rng.shuffle(sentenceSpans(piece, sentenceEnds));
  const goal = Math.floor(ratio * piece.length);
  const chosen: NoiseSpan[] = [];
  let covered = 0;
  for (const sentence of sentences) {
    chosen.push(sentence);
    covered += sentence.end - sentence.start;
    if (covered >= goal) break;
  }
  return chosen;
}

/** The document-level blank: a suffix of uniform length in [max(1, ⌊minRatio·n⌋), n - 1]. */
export function sampleSuffixSpan(length: number, minRatio: number, rng: Rng): NoiseSpan[] {
  const shortest = Math.min(length - 1, Math.max(1, Math.floor(minRatio * length)));
  const spanLength = shortest + rng.int(length - shortest);
  return [{ start: length - spanLength, end: length }];
}
