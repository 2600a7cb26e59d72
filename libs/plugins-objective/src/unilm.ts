import { field, number, object, type ObjectivePlugin, type Rng } from '@unilab/core';
import { countingPositions, type Example } from './example.ts';
import { choosePredictionPositions, maskTokens, ordinaryTokenDrawer } from './maskedTokens.ts';
import { createPackingBatcher, specialId } from './packing.ts';
import { bump, restWithAtLeast } from './pieces.ts';

/**
 * UniLM (Dong et al. 2019, §2 and §2.3): one Transformer trained with cloze tasks under four self-attention masks.
 * In a batch, 1/3 of the examples are bidirectional, 1/3 sequence-to-sequence, 1/6 left-to-right and 1/6
 * right-to-left. In every mode 15% of the text tokens are predicted, shown as [MASK] 80% / random 10% / themselves
 * 10%; a chosen run is a bigram or trigram 20% of the time (§2.2). Layouts (eos plays UniLM's [EOS]):
 *   bidirectional:  text eos                 prefixEnd = whole example
 *   seq2seq:        source eos target eos    prefixEnd = |source eos| (source bidirectional, target left-to-right)
 *   left-to-right:  text eos                 prefixEnd = 0
 *   right-to-left:  reversed(text eos)       prefixEnd = 0
 * The batch's single mask rule only expresses left-to-right, so right-to-left is the left-to-right mask over the
 * reversed example: tokens, targets and positions all follow the reversed order, and each position sees the
 * original text to its right.
 */
export type UnilmMode = 'bidirectional' | 'seq2seq' | 'left-to-right' | 'right-to-left';

export const unilmConfigSchema = object({
  bidirectionalRate: field(number({ min: 0 }), 1 / 3),
  seq2seqRate: field(number({ min: 0 }), 1 / 3),
  leftToRightRate: field(number({ min: 0 }), 1 / 6),
  rightToLeftRate: field(number({ min: 0 }), 1 / 6),
  maskRatio: field(number({ greaterThan: 0, max: 0.9 }), 0.15),
  ngramProbability: field(number({ min: 0, max: 1 }), 0.2),
});
export type UnilmConfig = ReturnType<typeof unilmConfigSchema.parse>;

function pickMode(config: UnilmConfig, rng: Rng): UnilmMode {
  const rates: [UnilmMode, number][] = [
    ['bidirectional', config.bidirectionalRate],
    ['seq2seq', config.seq2seqRate],
    ['left-to-right', config.leftToRightRate],
    ['right-to-left', config.rightToLeftRate],
  ];
  let u = rng.uniform() * rates.reduce((sum, [, r]) => sum + r, 0);
  for (const [mode, rate] of rates) {
    u -= rate;
    if (u < 0) return mode;
  }
  return 'right-to-left';
}

export const unilm: ObjectivePlugin<UnilmConfig> = {
  kind: 'objective',
  name: 'unilm',
  description: 'UniLM: cloze under bidirectional (1/3), seq2seq (1/3), left-to-right (1/6) and right-to-left (1/6) masks.',
  configSchema: unilmConfigSchema,
  // UniLM is one Transformer whose masks come from the batch: any decoder stack that follows the mask rule fits.
  architectures: ['unilm', 'decoder', 'prefix-lm'],
  specialTokens: ['MASK'],
  createBatcher(config, context, documents, rng) {
    const name = 'unilm';
    const eos = specialId(context, 'eos', name);
    const maskId = specialId(context, 'MASK', name);
    const randomToken = ordinaryTokenDrawer(context, name);
    if (!(config.bidirectionalRate + config.seq2seqRate + config.leftToRightRate + config.rightToLeftRate > 0))
      throw new Error('unilm: the mode rates sum to 0; give at least one a rate > 0');

    return createPackingBatcher(unilm, context, documents, rng, { encoder: false, blockPositions: false }, (space, reader, rng, counts) => {
      const mode = pickMode(config, rng);
      const separators = mode === 'seq2seq' ? 2 : 1;
      const room = space.decoder - separators;
      if (room < 2) return null;
      const rest = restWithAtLeast(reader, 2, counts, name);
      const length = Math.min(rest.length, room);
      const piece = Array.from(rest.subarray(0, length));
      reader.consume(length);
      const split = mode === 'seq2seq' ? 1 + rng.int(length - 1) : length;
      const sequence = mode === 'seq2seq' ? [...piece.slice(0, split), eos, ...piece.slice(split), eos] : [...piece, eos];
      const textPositions = sequence.flatMap((_, i) => (i === split || i === sequence.length - 1 ? [] : [i]));
      const chosen = choosePredictionPositions(textPositions, config, rng);
      const masked = maskTokens(sequence, chosen, maskId, randomToken, rng);
      bump(counts, `${mode}Examples`);
      const example: Example = { ...masked, positions: countingPositions(sequence.length), prefixEnd: 0 };
      if (mode === 'bidirectional') example.prefixEnd = sequence.length;
      if (mode === 'seq2seq') example.prefixEnd = split + 1;
      if (mode === 'right-to-left') {
        example.tokens.reverse();
        example.targets.reverse();
        example.lossMask.reverse();
      }
      return example;
    });
  },
};
