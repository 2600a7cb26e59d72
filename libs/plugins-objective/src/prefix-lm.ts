import { object, type ObjectivePlugin } from '@unilab/core';
import { createPackingBatcher, specialId } from './packing.ts';
import { restWithAtLeast } from './pieces.ts';
import { seq2seqExample, seq2seqForm, seq2seqLayout } from './seq2seq-example.ts';

/**
 * Prefix language modelling (Raffel et al. 2020, §3.3.2 "prefix LM"; Liu et al. 2018): a piece of a document is
 * split at a uniformly random point; the prefix is the input (seen bidirectionally), the rest is the target.
 * UL2 compares it as "PLM" in both forms (Tay et al. 2022, Table 3). Inputs and targets each end with eos, as
 * seqio's feature converters make them.
 */
export const prefixLmConfigSchema = object({});
export type PrefixLmConfig = ReturnType<typeof prefixLmConfigSchema.parse>;

export const prefixLm: ObjectivePlugin<PrefixLmConfig> = {
  kind: 'objective',
  name: 'prefixlm',
  description: 'Prefix LM: split a piece at a uniformly random point; predict the suffix from the bidirectional prefix.',
  configSchema: prefixLmConfigSchema,
  produces: { forms: ['single-stack', 'encoder-decoder'], positionDims: 1, masks: ['prefix'] },
  specialTokens: [],
  createBatcher(_config, context, documents, rng) {
    const name = 'prefixlm';
    const form = seq2seqForm(context);
    const eos = specialId(context, 'eos', name);
    const pad = specialId(context, 'pad', name);
    return createPackingBatcher(prefixLm, context, documents, rng, { encoder: form === 'encoder-decoder', blockPositions: false }, (space, reader, rng, counts) => {
      // A piece of n tokens takes n + 1 decoder positions (prefix + eos + suffix + eos, shifted by one); in the
      // encoder-decoder form every split point must fit both sides, so the piece is at most min(room) - 1 long.
      const room = form === 'encoder-decoder' ? Math.min(space.encoder, space.decoder) - 1 : space.decoder - 1;
      if (room < 2) return null;
      const rest = restWithAtLeast(reader, 2, counts, name);
      const length = Math.min(rest.length, room);
      const split = 1 + rng.int(length - 1);
      const piece = Array.from(rest.subarray(0, length));
      reader.consume(length);
      return seq2seqExample([...piece.slice(0, split), eos], [...piece.slice(split), eos], form, pad);
    });
  },
  // The prefix, ended by eos as in training, is the input; the continuation is the target.
  inference(_config, form) {
    const layout = seq2seqLayout(form, [], ['eos'], []);
    return { lm: layout, seq2seq: layout };
  },
};
