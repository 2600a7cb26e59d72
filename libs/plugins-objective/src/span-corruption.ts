import type { BatchForm, ContinuationLayout, Rng } from '@unilab/core';
import type { DocumentReader } from './document-reader.ts';
import type { Example, RowSpace } from './example.ts';
import type { ObjectiveCounts } from './packing.ts';
import { restWithAtLeast } from './pieces.ts';
import { randomComposition } from './random-composition.ts';
import { sentinelTokenNames } from './sentinels.ts';
import { seq2seqExample, seq2seqFits, seq2seqLayout, type Seq2SeqForm } from './seq2seq-example.ts';

/**
 * T5 span corruption (Raffel et al. 2020, §3.1.4 and Table 4's "i.i.d. spans"): drop `noiseDensity` of the tokens in
 * spans of mean length `meanSpanLength`, replace each dropped span in the input by a sentinel, and make the target
 * the dropped spans, each after its sentinel. UL2's R and X denoisers are the same operation with other settings.
 */
export interface SpanCorruptionSettings {
  noiseDensity: number;
  meanSpanLength: number;
}

/** A noise span [start, end) of a piece. */
export interface NoiseSpan {
  start: number;
  end: number;
}

/**
 * How many tokens and spans to corrupt in a piece of `length` tokens (T5's `random_spans_noise_mask`): the counts are
 * fixed by the length, only their places are random, so the example lengths are known before sampling.
 * Bad input rule (documented in docs/OBJECTIVES.md): at least one noise token and one kept token, at least one span,
 * and no more spans than fit with a kept token between neighbours (a 3-token piece under mean span 64 still gets one
 * span of one token). Pieces under 2 tokens cannot be corrupted; callers skip them.
 */
export function noiseCounts(length: number, settings: SpanCorruptionSettings): { noiseTokens: number; noiseSpans: number } {
  if (length < 2) throw new Error(`span corruption: a piece of ${length} token(s) cannot be corrupted (needs 2)`);
  const noiseTokens = Math.min(Math.max(Math.round(length * settings.noiseDensity), 1), length - 1);
  const spans = Math.max(Math.round(noiseTokens / settings.meanSpanLength), 1);
  return { noiseTokens, noiseSpans: Math.min(spans, noiseTokens, length - noiseTokens + 1) };
}

/**
 * T5's length arithmetic (`random_spans_helper`): inputs are the kept tokens, one sentinel per span and eos; targets
 * are the noise tokens, one sentinel per span and eos. 568 raw tokens → 512 inputs and 114 targets at (0.15, 3).
 */
export function spanCorruptionLengths(length: number, settings: SpanCorruptionSettings): { inputs: number; targets: number } {
  const { noiseTokens, noiseSpans } = noiseCounts(length, settings);
  return { inputs: length - noiseTokens + noiseSpans + 1, targets: noiseTokens + noiseSpans + 1 };
}

/**
 * The decoder length the encoder-decoder form needs for encoder rows of `encoderLen` (T5's `random_spans_helper`
 * run backwards): the targets of the longest piece whose inputs fill the row. 512 → 114 at (0.15, 3).
 * `inputPrefix` tokens (UL2's mode token) take encoder room.
 */
export function spanCorruptionDecoderLength(encoderLen: number, settings: SpanCorruptionSettings, inputPrefix = 0): number {
  const room = encoderLen - inputPrefix;
  const length = largestFitting(4 * room, 2, (n) => spanCorruptionLengths(n, settings).inputs <= room);
  if (length === 0) throw new Error(`span corruption: an encoder row of ${encoderLen} tokens holds no corrupted piece`);
  return spanCorruptionLengths(length, settings).targets;
}

/** The largest n in [lowest, highest] with fits(n), or 0 if none (the arithmetic rounds, so it is searched, not solved). */
export function largestFitting(highest: number, lowest: number, fits: (n: number) => boolean): number {
  for (let n = highest; n >= lowest; n--) if (fits(n)) return n;
  return 0;
}

/**
 * Where the noise spans go. The span lengths are a random composition of the noise tokens (as in T5); the kept runs
 * between them must be non-empty, but the runs before the first and after the last span may be empty. T5's code
 * always starts with a kept run and ends on a noise span; drawing the two outer runs freely removes that quirk and
 * leaves the counts (hence the length arithmetic) unchanged.
 */
export function sampleNoiseSpans(length: number, settings: SpanCorruptionSettings, rng: Rng): NoiseSpan[] {
  const { noiseTokens, noiseSpans } = noiseCounts(length, settings);
  const noiseLengths = randomComposition(noiseTokens, noiseSpans, rng);
  // Kept runs: noiseSpans + 1 of them, outer ones possibly empty: a composition of (kept + 2) into positive parts,
  // minus one from each outer part.
  const keptLengths = randomComposition(length - noiseTokens + 2, noiseSpans + 1, rng);
  keptLengths[0]--;
  keptLengths[noiseSpans]--;
  const spans: NoiseSpan[] = [];
  let at = keptLengths[0];
  for (let k = 0; k < noiseSpans; k++) {
    spans.push({ start: at, end: at + noiseLengths[k] });
    at += noiseLengths[k] + keptLengths[k + 1];
  }
  return spans;
}

/**
 * The T5 input/target pair for a piece and its noise spans. `inputPrefix` goes first in the input (UL2's mode token).
 *   piece:   The cat sat on the mat      spans: [cat], [on the]
 *   inputs:  The <s0> sat <s1> mat </s>
 *   targets: <s0> cat <s1> on the </s>
 */
export function spanCorruptionPair(
  piece: ArrayLike<number>,
  spans: readonly NoiseSpan[],
  sentinels: readonly number[],
  eos: number,
  inputPrefix: readonly number[] = [],
): { inputs: number[]; targets: number[] } {
  const inputs: number[] = [...inputPrefix];
  const targets: number[] = [];
  let kept = 0;
  spans.forEach((span, k) => {
    const sentinel = sentinels[k % sentinels.length];
    for (let i = kept; i < span.start; i++) inputs.push(piece[i]);
    inputs.push(sentinel);
    targets.push(sentinel);
    for (let i = span.start; i < span.end; i++) targets.push(piece[i]);
    kept = span.end;
  });
  for (let i = kept; i < piece.length; i++) inputs.push(piece[i]);
  inputs.push(eos);
  targets.push(eos);
  return { inputs, targets };
}

export interface SpanCorruptionTokens {
  eos: number;
  pad: number;
  sentinels: readonly number[];
  /** Tokens put before the input (UL2's mode token); empty for T5. */
  inputPrefix: readonly number[];
}

/**
 * The next span-corruption example from the document reader: the longest piece of the current document whose
 * inputs and targets fit the room left in the row (T5's arithmetic run backwards), corrupted. Returns null when not
 * even a 2-token piece fits.
 */
export function nextSpanCorruptionExample(
  reader: DocumentReader,
  space: RowSpace,
  settings: SpanCorruptionSettings,
  tokens: SpanCorruptionTokens,
  form: Seq2SeqForm,
  rng: Rng,
  counts: ObjectiveCounts,
  objective: string,
): Example | null {
  const rest = restWithAtLeast(reader, 2, counts, objective);
  const bound = form === 'encoder-decoder' ? space.encoder + space.decoder : space.decoder;
  const length = largestFitting(Math.min(rest.length, bound), 2, (n) => {
    const lengths = spanCorruptionLengths(n, settings);
    return seq2seqFits(lengths.inputs + tokens.inputPrefix.length, lengths.targets, form, space);
  });
  if (length === 0) return null;
  const piece = rest.subarray(0, length);
  reader.consume(length);
  const spans = sampleNoiseSpans(length, settings, rng);
  const { inputs, targets } = spanCorruptionPair(piece, spans, tokens.sentinels, tokens.eos, tokens.inputPrefix);
  return seq2seqExample(inputs, targets, form, tokens.pad);
}

/**
 * A continuation as T5 span corruption sees it: one noise span at the end of the piece (sampleNoiseSpans lets the
 * last kept run be empty), so the input is the text, the first sentinel and eos, and the target starts with the
 * sentinel. `inputPrefix` is UL2's mode token.
 */
export function trailingSpanLayout(form: BatchForm, inputPrefix: readonly string[]): ContinuationLayout {
  return seq2seqLayout(form, inputPrefix, [sentinelTokenNames[0], 'eos'], [sentinelTokenNames[0]]);
}
