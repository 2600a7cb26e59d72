import { arrayOf, boolean, field, integer, number, object, oneOf, optional, type InferencePresentation, type ObjectivePlugin, type Rng } from '@unilab/core';
import { blankInfillingExample } from './blank-infilling.ts';
import { maxTokenSpans, sampleSentenceSpans, sampleSuffixSpan, sampleTokenSpans } from './glm-span-sampling.ts';
import { createPackingBatcher, specialId } from './packing.ts';
import { bump, restWithAtLeast } from './pieces.ts';
import { largestFitting, type NoiseSpan } from './span-corruption.ts';

/**
 * GLM's autoregressive blank infilling (Du et al. 2022): blanks of the piece are predicted autoregressively in a
 * random order, with 2D positions (blankInfilling.ts). Token-level blanks use [MASK]; the multi-task variants use
 * [sMASK] for sentence blanks and [gMASK] for one long suffix blank (§2.3). The `glm-10b` preset is the GLM-10B
 * pre-training script of the reference code, THUDM/GLM `config/ds_block_10B.sh` as of commit 97e7ad8 (2021-06-24;
 * unchanged since 28fca84, 2021-06-10): `--bert-prob 0.5 --gap-sentence-prob 0.3 --gpt-min-ratio 0.25`, and
 * blocklm_utils.py gives the rest to [gMASK] (gpt_prob = 1 - bert_prob - gap_sentence_prob = 0.2). Earlier versions
 * of that script (2021-03-30 to 2021-04-22, e.g. 051966b) had --bert-prob 0.4, i.e. 0.4 / 0.3 / 0.3; set tokenRate,
 * sentenceRate and documentRate to train that mixture. The script's --block-mask-prob 0.1 and --short-seq-prob 0.02
 * are not modelled. The mixture is drawn per example (the reference draws it per batch).
 */
export type GlmBlankKind = 'token' | 'sentence' | 'document';

const GLM_MASK_TOKENS: Readonly<Record<GlmBlankKind, string>> = { token: 'MASK', sentence: 'sMASK', document: 'gMASK' };

/** Bytes that end a sentence in the byte-level token view: . ? ! ; : and newline (the reference's contains_sentence_end). */
export const BYTE_SENTENCE_ENDS: readonly number[] = [...'.?!;:\n'].map((c) => c.charCodeAt(0));

export interface GlmSettings {
  rates: Readonly<Record<GlmBlankKind, number>>;
  maskRatio: number;
  poissonLambda: number;
  maxSpanLength: number;
  sentenceRatio: number;
  documentMinRatio: number;
}

export const GLM_PRESETS: Readonly<Record<'glm' | 'glm-10b', GlmSettings>> = {
  // GLM_Large / GLM_Base: token-level blanks only; GLM_Doc's suffix spans cover 50–100% of the piece.
  glm: {
    rates: { token: 1, sentence: 0, document: 0 },
    maskRatio: 0.15,
    poissonLambda: 3,
    maxSpanLength: 39,
    sentenceRatio: 0.15,
    documentMinRatio: 0.5,
  },
  'glm-10b': {
    rates: { token: 0.5, sentence: 0.3, document: 0.2 },
    maskRatio: 0.15,
    poissonLambda: 3,
    maxSpanLength: 39,
    sentenceRatio: 0.15,
    documentMinRatio: 0.25,
  },
};

const rate = () => optional(number({ min: 0, max: 1 }));
export const glmConfigSchema = object({
  /** Starting settings; any field below overrides the preset's. */
  preset: field(oneOf(['glm', 'glm-10b'] as const), 'glm'),
  tokenRate: rate(),
  sentenceRate: rate(),
  documentRate: rate(),
  maskRatio: optional(number({ greaterThan: 0, max: 0.9 })),
  poissonLambda: optional(number({ greaterThan: 0 })),
  maxSpanLength: optional(integer({ min: 1 })),
  sentenceRatio: optional(number({ greaterThan: 0, max: 1 })),
  documentMinRatio: optional(number({ min: 0, max: 1 })),
  /** Token ids that end a sentence, for [sMASK]; the default is the byte-level view's. */
  sentenceEndTokens: field(arrayOf(integer({ min: 0 })), [...BYTE_SENTENCE_ENDS]),
  /** Shuffle the spans of Part B (GLM does; §2.1 "randomly permute the order of the spans"). */
  shuffleSpans: field(boolean(), true),
});
export type GlmConfig = ReturnType<typeof glmConfigSchema.parse>;

/** The preset with the config's overrides applied. */
export function glmSettings(config: GlmConfig): GlmSettings {
  const preset = GLM_PRESETS[config.preset];
  const rates = {
    token: config.tokenRate ?? preset.rates.token,
    sentence: config.sentenceRate ?? preset.rates.sentence,
    document: config.documentRate ?? preset.rates.document,
  };
  if (!(rates.token + rates.sentence + rates.document > 0))
    throw new Error('glm: tokenRate + sentenceRate + documentRate must be > 0');
  return {
    rates,
    maskRatio: config.maskRatio ?? preset.maskRatio,
    poissonLambda: config.poissonLambda ?? preset.poissonLambda,
    maxSpanLength: config.maxSpanLength ?? preset.maxSpanLength,
    sentenceRatio: config.sentenceRatio ?? preset.sentenceRatio,
    documentMinRatio: config.documentMinRatio ?? preset.documentMinRatio,
  };
}

function pickKind(rates: Readonly<Record<GlmBlankKind, number>>, rng: Rng): GlmBlankKind {
  const u = rng.uniform() * (rates.token + rates.sentence + rates.document);
  if (u < rates.token) return 'token';
  return u < rates.token + rates.sentence ? 'sentence' : 'document';
}

/** Sentences in each prefix of `rest`: at most that many sentence blanks for a piece of that length. */
function sentenceCounts(rest: Int32Array, bound: number, sentenceEnds: ReadonlySet<number>): number[] {
  const counts = [0];
  let ends = 0;
  for (let n = 1; n <= bound; n++) {
    const ended = sentenceEnds.has(rest[n - 1]);
    if (ended) ends++;
    counts.push(ends + (ended ? 0 : 1));
  }
  return counts;
}

/**
 * GLM at inference (Du et al. 2022, §2.3 and §3.3: language modelling appends [gMASK] and generates Part B). The
 * continuation's blank is [gMASK] when document blanks were trained, else [MASK] (or [sMASK]); the target follows
 * [sop] in Part B at the blank's position, block positions 1, 2, ... Spans are filled as token blanks ([MASK]), or as
 * sentence blanks ([sMASK]) when only those were trained.
 */
export function glmInference(config: GlmConfig): InferencePresentation {
  const { rates } = glmSettings(config);
  const continuationBlank = rates.document > 0 ? 'document' : rates.token > 0 ? 'token' : 'sentence';
  const lm = { kind: 'prefix', inputPrefix: [], inputSuffix: [GLM_MASK_TOKENS[continuationBlank]], targetPrefix: ['sop'], glm2d: true } as const;
  return { lm, seq2seq: lm, infilling: { kind: 'blanks', mask: GLM_MASK_TOKENS[rates.token > 0 ? 'token' : 'sentence'] } };
}

export const glm: ObjectivePlugin<GlmConfig> = {
  kind: 'objective',
  name: 'glm',
  description: 'GLM blank infilling: Poisson(3) spans over 15% of tokens, shuffled, [sop]/[eop], 2D positions; sMASK/gMASK variants.',
  configSchema: glmConfigSchema,
  produces: { forms: ['single-stack'], positionDims: 2, masks: ['prefix'] },
  specialTokens: ['MASK', 'sMASK', 'gMASK', 'sop', 'eop'],
  createBatcher(config, context, documents, rng) {
    const name = 'glm';
    const settings = glmSettings(config);
    const sentenceEnds = new Set(config.sentenceEndTokens);
    const ids = { sop: specialId(context, 'sop', name), eop: specialId(context, 'eop', name) };
    const maskIds: Record<GlmBlankKind, number> = {
      token: specialId(context, GLM_MASK_TOKENS.token, name),
      sentence: specialId(context, GLM_MASK_TOKENS.sentence, name),
      document: specialId(context, GLM_MASK_TOKENS.document, name),
    };
    return createPackingBatcher(glm, context, documents, rng, { encoder: false, blockPositions: true }, (space, reader, rng, counts) => {
      if (space.decoder < 4) return null;
      const kind = pickKind(settings.rates, rng);
      const rest = restWithAtLeast(reader, 2, counts, name);
      // An example takes n + 2 × (number of spans) positions ([MASK] in Part A, [sop] in Part B). The piece length is
      // chosen so that the most spans it could get still fit, which keeps the span statistics free of any
      // selection by fit.
      const bound = Math.min(rest.length, space.decoder);
      const sentences = kind === 'sentence' ? sentenceCounts(rest, bound, sentenceEnds) : [];
      const mostSpans = (n: number) => (kind === 'token' ? maxTokenSpans(n, settings.maskRatio) : kind === 'sentence' ? sentences[n] : 1);
      const length = largestFitting(bound, 2, (n) => n + 2 * mostSpans(n) <= space.decoder);
      if (length === 0) return null;
      const piece = rest.subarray(0, length);
      reader.consume(length);
      const spans: NoiseSpan[] =
        kind === 'token'
          ? sampleTokenSpans(length, settings, rng, counts)
          : kind === 'sentence'
            ? sampleSentenceSpans(piece, sentenceEnds, settings.sentenceRatio, rng)
            : sampleSuffixSpan(length, settings.documentMinRatio, rng);
      const order = spans.map((_, i) => i);
      if (config.shuffleSpans) rng.shuffle(order);
      bump(counts, `${kind}Examples`);
      return blankInfillingExample(piece, spans, order, { ...ids, mask: maskIds[kind] });
    });
  },
  inference: glmInference,
};

