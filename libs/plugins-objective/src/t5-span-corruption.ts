import { field, number, object, type ObjectivePlugin } from '@unilab/core';
import { createPackingBatcher, specialId } from './packing.ts';
import { seq2seqForm } from './seq2seq-example.ts';
import { sentinelIds, sentinelTokenNames } from './sentinels.ts';
import { nextSpanCorruptionExample, spanCorruptionDecoderLength, trailingSpanLayout } from './span-corruption.ts';

/**
 * T5's span corruption (Raffel et al. 2020, §3.1.4; the objective chosen in §3.3, Table 7): 15% noise in spans of
 * mean length 3, one sentinel per span. Both forms of UL2's table: encoder-decoder (T5 itself) and decoder-only
 * (inputs and targets concatenated, inputs bidirectional).
 */
export const spanCorruptionConfigSchema = object({
  noiseDensity: field(number({ greaterThan: 0, max: 0.9 }), 0.15),
  meanSpanLength: field(number({ min: 1 }), 3),
});
export type SpanCorruptionConfig = ReturnType<typeof spanCorruptionConfigSchema.parse>;

export const spanCorruption: ObjectivePlugin<SpanCorruptionConfig> = {
  kind: 'objective',
  name: 'span-corruption',
  description: 'T5 span corruption: 15% of tokens in spans of mean length 3 replaced by sentinels; targets are the spans.',
  configSchema: spanCorruptionConfigSchema,
  produces: { forms: ['single-stack', 'encoder-decoder'], positionDims: 1, masks: ['prefix'] },
  specialTokens: sentinelTokenNames,
  // T5 §3.1.4 / random_spans_helper: 512 inputs need 114 target positions at the default (0.15, 3).
  decoderLength: (config, encoderLen) => spanCorruptionDecoderLength(encoderLen, config),
  createBatcher(config, context, documents, rng) {
    const name = 'span-corruption';
    const form = seq2seqForm(context);
    const tokens = {
      eos: specialId(context, 'eos', name),
      pad: specialId(context, 'pad', name),
      sentinels: sentinelIds(context.specialTokens, name),
      inputPrefix: [],
    };
    return createPackingBatcher(spanCorruption, context, documents, rng, { encoder: form === 'encoder-decoder', blockPositions: false }, (space, reader, rng, counts) =>
      nextSpanCorruptionExample(reader, space, config, tokens, form, rng, counts, name),
    );
  },
  inference(_config, form) {
    const continuation = trailingSpanLayout(form, []);
    return { lm: continuation, seq2seq: continuation, infilling: { kind: 'sentinels', inputPrefix: [] } };
  },
};
