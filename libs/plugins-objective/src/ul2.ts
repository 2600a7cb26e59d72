import { arrayOf, boolean, field, number, object, oneOf, optional, type BatchForm, type InferencePresentation, type ObjectivePlugin, type Rng, type Schema } from '@unilab/core';
import type { DocumentReader } from './document-reader.ts';
import type { Example, RowSpace } from './example.ts';
import { createPackingBatcher, specialId, type ObjectiveCounts } from './packing.ts';
import { bump, restWithAtLeast } from './pieces.ts';
import { seq2seqExample, seq2seqFits, seq2seqForm, seq2seqLayout, type Seq2SeqForm } from './seq2seq-example.ts';
import { sentinelIds, sentinelTokenNames } from './sentinels.ts';
import { largestFitting, nextSpanCorruptionExample, trailingSpanLayout } from './span-corruption.ts';

/**
 * UL2's mixture of denoisers (Tay et al. 2022, §3.1.2 and §3.1.3): each example is drawn from one denoiser and its
 * input starts with the paradigm's mode token ([NLU] for R, [NLG] for X, [S2S] for S, the names of the released
 * UL2 checkpoints), so fine-tuning can switch modes.
 * - R (regular): T5 span corruption, (μ=3, r=0.15) and (μ=8, r=0.15);
 * - X (extreme): long spans or heavy corruption, (3, 0.5), (8, 0.5), (64, 0.15), (64, 0.5);
 * - S (sequential): prefix LM. Where the split falls is a setting (`sequentialSplit`), because the paper gives two:
 *   'uniform' (default): the prefix length is uniform on [1, n-1], as T5's `prefix_lm` draws it
 *     (random_prefix_noise_mask) and as UL2's appendix code calls it for the S-denoiser;
 *   'fixed': the target is the last r = 0.25 of the piece, UL2 Table 1's S = (μ = L/4, r = 0.25, n = 1).
 * Paradigm rates R 0.4, X 0.4, S 0.2, split evenly between a paradigm's denoisers; every rate is configurable.
 */
export type Ul2Paradigm = 'R' | 'X' | 'S';

export const UL2_MODE_TOKENS: Readonly<Record<Ul2Paradigm, string>> = { R: 'NLU', X: 'NLG', S: 'S2S' };

export interface Ul2Denoiser {
  paradigm: Ul2Paradigm;
  /** Mean span length μ (R and X only). */
  meanSpanLength?: number;
  /** Corruption rate r: the noise density for R and X, the target fraction for S under sequentialSplit 'fixed'. */
  noiseDensity: number;
  /** Sampling rate of this denoiser; rates are normalised to sum to 1. */
  rate: number;
}

const denoiserSchema: Schema<Ul2Denoiser> = object({
  paradigm: field(oneOf(['R', 'X', 'S'] as const)),
  meanSpanLength: optional(number({ min: 1 })),
  noiseDensity: field(number({ greaterThan: 0, max: 0.9 })),
  rate: field(number({ min: 0 })),
});

/** The paper's seven denoisers (Table 1 as quoted in docs/OBJECTIVES.md) at its paradigm rates. */
export const UL2_DENOISERS: readonly Ul2Denoiser[] = [
  { paradigm: 'R', meanSpanLength: 3, noiseDensity: 0.15, rate: 0.2 },
  { paradigm: 'R', meanSpanLength: 8, noiseDensity: 0.15, rate: 0.2 },
  { paradigm: 'X', meanSpanLength: 3, noiseDensity: 0.5, rate: 0.1 },
  { paradigm: 'X', meanSpanLength: 8, noiseDensity: 0.5, rate: 0.1 },
  { paradigm: 'X', meanSpanLength: 64, noiseDensity: 0.15, rate: 0.1 },
  { paradigm: 'X', meanSpanLength: 64, noiseDensity: 0.5, rate: 0.1 },
  { paradigm: 'S', noiseDensity: 0.25, rate: 0.2 },
];

export const ul2ConfigSchema = object({
  denoisers: field(arrayOf(denoiserSchema, { minLength: 1 }), UL2_DENOISERS.map((d) => ({ ...d }))),
  /** Prepend the paradigm token to every input (UL2's mode switching). */
  modeTokens: field(boolean(), true),
  /** The S-denoiser's split: 'uniform' (T5 prefix_lm, UL2's appendix code) or 'fixed' at the denoiser's r (UL2 Table 1). */
  sequentialSplit: field(oneOf(['uniform', 'fixed'] as const), 'uniform'),
});
export type Ul2Config = ReturnType<typeof ul2ConfigSchema.parse>;

/** A short name for counters and docs, e.g. "R(μ=3,r=0.15)" or "S(r=0.25)". */
export function denoiserLabel(denoiser: Ul2Denoiser): string {
  return denoiser.paradigm === 'S'
    ? `S(r=${denoiser.noiseDensity})`
    : `${denoiser.paradigm}(μ=${denoiser.meanSpanLength},r=${denoiser.noiseDensity})`;
}

/**
 * The S-denoiser, fixed split: the last `targetFraction` of the piece (at least one token, at most all but one) is
 * the target, the rest the input, behind the mode token.
 */
function fixedSequentialExample(
  reader: DocumentReader,
  space: RowSpace,
  targetFraction: number,
  prefix: readonly number[],
  ids: { eos: number; pad: number },
  form: Seq2SeqForm,
  counts: ObjectiveCounts,
): Example | null {
  const targetLength = (n: number) => Math.min(n - 1, Math.max(1, Math.round(n * targetFraction)));
  const rest = restWithAtLeast(reader, 2, counts, 'ul2');
  const bound = form === 'encoder-decoder' ? space.encoder + space.decoder : space.decoder;
  const length = largestFitting(Math.min(rest.length, bound), 2, (n) =>
    seq2seqFits(prefix.length + n - targetLength(n) + 1, targetLength(n) + 1, form, space),
  );
  if (length === 0) return null;
  const piece = Array.from(rest.subarray(0, length));
  reader.consume(length);
  const split = length - targetLength(length);
  return seq2seqExample([...prefix, ...piece.slice(0, split), ids.eos], [...piece.slice(split), ids.eos], form, ids.pad);
}

/**
 * UL2's mode switching at inference (Tay et al. 2022, §3.1.3: the paradigm token of the task's kind is prepended):
 * continuation and seq2seq are the S-denoiser's prefix LM behind [S2S]; infilling is the R-denoiser's span
 * corruption behind [NLU]. A mixture without S continues through a trailing X span behind [NLG] (X before R: its
 * long spans are the nearer to a continuation); one without R fills spans as X does.
 */
export function ul2Inference(config: Ul2Config, form: BatchForm): InferencePresentation {
  const trained = (p: Ul2Paradigm) => config.denoisers.some((d) => d.paradigm === p && d.rate > 0);
  const token = (p: Ul2Paradigm) => (config.modeTokens ? [UL2_MODE_TOKENS[p]] : []);
  const spanParadigm: Ul2Paradigm | null = trained('R') ? 'R' : trained('X') ? 'X' : null;
  const longSpanParadigm: Ul2Paradigm | null = trained('X') ? 'X' : spanParadigm;
  const continuation = trained('S')
    ? seq2seqLayout(form, token('S'), ['eos'], [])
    : longSpanParadigm
      ? trailingSpanLayout(form, token(longSpanParadigm))
      : undefined;
  return {
    lm: continuation,
    seq2seq: continuation,
    infilling: spanParadigm ? { kind: 'sentinels', inputPrefix: token(spanParadigm) } : undefined,
    modes: config.modeTokens ? { NLU: [UL2_MODE_TOKENS.R], NLG: [UL2_MODE_TOKENS.X], S2S: [UL2_MODE_TOKENS.S] } : undefined,
  };
}

/**
 * The S-denoiser, uniform split (T5's random_prefix_noise_mask): the longest piece whose every split fits the row,
 * then an input of 1..n-1 tokens, uniform. A piece of n tokens takes |mode| + n + 1 decoder positions in the decoder
 * form; in the encoder-decoder form at most |mode| + n encoder and n decoder positions (the extreme splits).
 */
function uniformSequentialExample(
  reader: DocumentReader,
  space: RowSpace,
  prefix: readonly number[],
  ids: { eos: number; pad: number },
  form: Seq2SeqForm,
  rng: Rng,
  counts: ObjectiveCounts,
): Example | null {
  const room = form === 'encoder-decoder' ? Math.min(space.encoder - prefix.length, space.decoder) : space.decoder - prefix.length - 1;
  if (room < 2) return null;
  const rest = restWithAtLeast(reader, 2, counts, 'ul2');
  const length = Math.min(rest.length, room);
  const piece = Array.from(rest.subarray(0, length));
  reader.consume(length);
  const split = 1 + rng.int(length - 1);
  return seq2seqExample([...prefix, ...piece.slice(0, split), ids.eos], [...piece.slice(split), ids.eos], form, ids.pad);
}

function pickDenoiser(denoisers: readonly Ul2Denoiser[], total: number, rng: Rng): Ul2Denoiser {
  let u = rng.uniform() * total;
  for (const denoiser of denoisers) {
    u -= denoiser.rate;
    if (u < 0) return denoiser;
  }
  return denoisers[denoisers.length - 1];
}

export const ul2: ObjectivePlugin<Ul2Config> = {
  kind: 'objective',
  name: 'ul2',
  description: "UL2 mixture of denoisers: R, X and S denoisers at rates 0.4/0.4/0.2, each input led by its mode token.",
  configSchema: ul2ConfigSchema,
  produces: { forms: ['single-stack', 'encoder-decoder'], positionDims: 1, masks: ['prefix'] },
  specialTokens: [...Object.values(UL2_MODE_TOKENS), ...sentinelTokenNames],
  createBatcher(config, context, documents, rng) {
    const name = 'ul2';
    const form = seq2seqForm(context);
    const ids = { eos: specialId(context, 'eos', name), pad: specialId(context, 'pad', name) };
    const sentinels = sentinelIds(context.specialTokens, name);
    for (const [i, d] of config.denoisers.entries())
      if (d.paradigm !== 'S' && d.meanSpanLength === undefined)
        throw new Error(`ul2: denoisers[${i}] (${d.paradigm}) needs a meanSpanLength`);
    const total = config.denoisers.reduce((sum, d) => sum + d.rate, 0);
    if (!(total > 0)) throw new Error('ul2: the denoiser rates sum to 0; give at least one a rate > 0');
    const modePrefix = (d: Ul2Denoiser) =>
      config.modeTokens ? [specialId(context, UL2_MODE_TOKENS[d.paradigm], name)] : [];

    return createPackingBatcher(ul2, context, documents, rng, { encoder: form === 'encoder-decoder', blockPositions: false }, (space, reader, rng, counts) => {
      const denoiser = pickDenoiser(config.denoisers, total, rng);
      const prefix = modePrefix(denoiser);
      const example =
        denoiser.paradigm === 'S'
          ? config.sequentialSplit === 'uniform'
            ? uniformSequentialExample(reader, space, prefix, ids, form, rng, counts)
            : fixedSequentialExample(reader, space, denoiser.noiseDensity, prefix, ids, form, counts)
          : nextSpanCorruptionExample(
              reader,
              space,
              { noiseDensity: denoiser.noiseDensity, meanSpanLength: denoiser.meanSpanLength! },
              { ...ids, sentinels, inputPrefix: prefix },
              form,
              rng,
              counts,
              name,
            );
      if (example) bump(counts, denoiserLabel(denoiser));
      return example;
    });
  },
  inference: ul2Inference,
};
