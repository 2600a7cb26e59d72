import { field, number, object, type ObjectivePlugin } from '@unilab/core';
import { causalPiece } from './clm.ts';
import { createPackingBatcher, specialId } from './packing.ts';
import { bump, restWithAtLeast } from './pieces.ts';
import { seq2seqExample, seq2seqForm } from './seq2seq-example.ts';
import { sentinelIds, sentinelTokenNames } from './sentinels.ts';
import { nextSpanCorruptionExample, trailingSpanLayout } from './span-corruption.ts';

/**
 * SCLM (Tay et al. 2022, §5.1 "Span Corruption + LM"): each example is either causal LM or T5 span corruption
 * (mean span 3, 15% noise), with equal rates by default.
 * Causal LM in the encoder-decoder form has no input: the encoder reads only eos (T5's empty input) and the decoder
 * predicts the piece followed by eos.
 */
export const sclmConfigSchema = object({
  causalRate: field(number({ min: 0, max: 1 }), 0.5),
  noiseDensity: field(number({ greaterThan: 0, max: 0.9 }), 0.15),
  meanSpanLength: field(number({ min: 1 }), 3),
});
export type SclmConfig = ReturnType<typeof sclmConfigSchema.parse>;

export const sclm: ObjectivePlugin<SclmConfig> = {
  kind: 'objective',
  name: 'sclm',
  description: 'SCLM: per example, causal LM or T5 span corruption (50/50 by default).',
  configSchema: sclmConfigSchema,
  produces: { forms: ['single-stack', 'encoder-decoder'], positionDims: 1, masks: ['causal', 'prefix'] },
  specialTokens: sentinelTokenNames,
  createBatcher(config, context, documents, rng) {
    const name = 'sclm';
    const form = seq2seqForm(context);
    const eos = specialId(context, 'eos', name);
    const pad = specialId(context, 'pad', name);
    const tokens = { eos, pad, sentinels: sentinelIds(context.specialTokens, name), inputPrefix: [] };
    return createPackingBatcher(sclm, context, documents, rng, { encoder: form === 'encoder-decoder', blockPositions: false }, (space, reader, rng, counts) => {
      if (rng.uniform() >= config.causalRate) {
        const example = nextSpanCorruptionExample(reader, space, config, tokens, form, rng, counts, name);
        if (example) bump(counts, 'spanCorruptionExamples');
        return example;
      }
      if (form === 'single-stack') {
        bump(counts, 'causalExamples');
        return causalPiece(reader, space.decoder, eos);
      }
      if (space.encoder < 1 || space.decoder < 2) return null;
      const rest = restWithAtLeast(reader, 1, counts, name);
      const length = Math.min(rest.length, space.decoder - 1);
      const piece = Array.from(rest.subarray(0, length));
      reader.consume(length);
      bump(counts, 'causalExamples');
      return seq2seqExample([eos], [...piece, eos], form, pad);
    });
  },
  // LM: its causal half (on encoder-decoder the decoder continues while the encoder reads eos); seq2seq and
  // infilling: its span-corruption half, the input seen bidirectionally.
  inference(_config, form) {
    return {
      lm: form === 'encoder-decoder' ? { kind: 'decoder-lm', encoderInput: ['eos'] } : { kind: 'causal' },
      seq2seq: trailingSpanLayout(form, []),
      infilling: { kind: 'sentinels', inputPrefix: [] },
    };
  },
};
