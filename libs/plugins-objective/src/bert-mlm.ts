import { field, number, object, type ObjectivePlugin } from '@unilab/core';
import { countingPositions } from './example.ts';
import { choosePredictionPositions, maskTokens, ordinaryTokenDrawer } from './masked-tokens.ts';
import { createPackingBatcher, specialId } from './packing.ts';
import { restWithAtLeast } from './pieces.ts';

/**
 * BERT's masked language model (Devlin et al. 2019, §3.1): 15% of the positions are predicted from the whole
 * (bidirectional) piece; a predicted token is shown as [MASK] 80%, a random token 10%, itself 10% of the time.
 * The batch is the encoder's: prefixEnd spans the whole example. (Next-sentence prediction is not part of it; later
 * work, RoBERTa, dropped it.)
 */
export const bertMlmConfigSchema = object({
  maskRatio: field(number({ greaterThan: 0, max: 0.9 }), 0.15),
});
export type BertMlmConfig = ReturnType<typeof bertMlmConfigSchema.parse>;

export const bertMlm: ObjectivePlugin<BertMlmConfig> = {
  kind: 'objective',
  name: 'bert-mlm',
  description: 'BERT masked LM: 15% of tokens predicted bidirectionally; 80% [MASK], 10% random, 10% unchanged.',
  configSchema: bertMlmConfigSchema,
  produces: { forms: ['single-stack'], positionDims: 1, masks: ['bidirectional'] },
  specialTokens: ['MASK'],
  createBatcher(config, context, documents, rng) {
    const name = 'bert-mlm';
    const maskId = specialId(context, 'MASK', name);
    const randomToken = ordinaryTokenDrawer(context, name);
    const settings = { maskRatio: config.maskRatio, ngramProbability: 0 };
    return createPackingBatcher(bertMlm, context, documents, rng, { encoder: false, blockPositions: false }, (space, reader, rng, counts) => {
      const rest = restWithAtLeast(reader, 1, counts, name);
      const length = Math.min(rest.length, space.decoder);
      const piece = Array.from(rest.subarray(0, length));
      reader.consume(length);
      const positions = choosePredictionPositions(countingPositions(length), settings, rng);
      return { ...maskTokens(piece, positions, maskId, randomToken, rng), positions: countingPositions(length), prefixEnd: length };
    });
  },
  // A masked LM fills masked tokens; it never learned to continue a text.
  inference: () => ({ infilling: { kind: 'cloze', mask: 'MASK' } }),
};
