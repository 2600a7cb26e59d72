import { field, integer, object, ops, type PositionalEncodingPlugin } from '@unilab/core';
import { normalParameter } from '../init.ts';
import { tableTooShort } from './learned-absolute.ts';

const glm2dSchema = object({ maxPositions: field(integer({ min: 1, max: 1 << 20 }), 1024) });
export type Glm2dConfig = ReturnType<typeof glm2dSchema.parse>;

/**
 * GLM's 2D positional encoding (Du et al. 2022 §2.3): "the two positional ids are projected into two vectors via
 * learnable embedding tables, which are both added to the input token embeddings". The first id is the position in
 * Part A (a span's tokens share their [MASK]'s), the second the position inside the span (0 in Part A).
 */
export const glm2d: PositionalEncodingPlugin<Glm2dConfig> = {
  kind: 'positional-encoding',
  name: 'glm-2d',
  description: "GLM's 2D positions: two learned tables (position, block position) added to the embeddings",
  configSchema: glm2dSchema,
  positionDims: 2,
  check: (config, use) => tableTooShort(config.maxPositions, use.seqLen),
  create(config, stack) {
    const shape = [config.maxPositions, stack.dModel];
    const positionTable = normalParameter(stack.backend, stack.rng, `${stack.prefix}pos_embeddings`, shape, 0.02);
    const blockTable = normalParameter(stack.backend, stack.rng, `${stack.prefix}block_pos_embeddings`, shape, 0.02);
    return {
      params: [positionTable, blockTable],
      embed(tape, x, at) {
        if (!at.blockPositions) throw new Error('glm-2d needs block positions; the glm architecture provides them');
        const withPosition = ops.add(tape, x, ops.embedding(tape, at.positions, tape.param(positionTable)));
        return ops.add(tape, withPosition, ops.embedding(tape, at.blockPositions, tape.param(blockTable)));
      },
    };
  },
};
