import { field, integer, object, ops, type PositionalEncodingPlugin } from '@unilab/core';
import { normalParameter } from '../init.ts';

const learnedAbsoluteSchema = object({
  /** Rows of the table: positions 0 .. maxPositions - 1 (GPT-2: 1024, BERT: 512). */
  maxPositions: field(integer({ min: 1, max: 1 << 20 }), 1024),
});
export type LearnedAbsoluteConfig = ReturnType<typeof learnedAbsoluteSchema.parse>;

/** A position table must have a row for every position of the longest sequence (train.seqLen). */
export function tableTooShort(maxPositions: number, seqLen: number): string | null {
  return seqLen > maxPositions ? `maxPositions (${maxPositions}) must be at least train.seqLen (${seqLen}): each position needs a row` : null;
}

/**
 * Learned absolute position embeddings added to the token embeddings (GPT, Radford et al. 2018; BERT): a table of
 * maxPositions rows of d values, normal(0, 0.02) like the token table, counted as embedding parameters.
 */
export const learnedAbsolute: PositionalEncodingPlugin<LearnedAbsoluteConfig> = {
  kind: 'positional-encoding',
  name: 'learned-absolute',
  description: 'A learned vector per position added to the token embeddings (GPT, BERT)',
  configSchema: learnedAbsoluteSchema,
  positionDims: 1,
  check: (config, use) => tableTooShort(config.maxPositions, use.seqLen),
  create(config, stack) {
    const table = normalParameter(stack.backend, stack.rng, `${stack.prefix}pos_embeddings`, [config.maxPositions, stack.dModel], 0.02);
    return {
      params: [table],
      embed: (tape, x, at) => ops.add(tape, x, ops.embedding(tape, at.positions, tape.param(table))),
    };
  },
};
