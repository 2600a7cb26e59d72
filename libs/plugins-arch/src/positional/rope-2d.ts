import { field, number, object, ops, type PositionalEncodingPlugin } from '@unilab/core';

const rope2dSchema = object({ base: field(number({ greaterThan: 1 }), 10000) });
export type Rope2dConfig = ReturnType<typeof rope2dSchema.parse>;

/**
 * GLM-130B's 2D rotary embedding (Zeng et al. 2022, §2.1 and its released code): each head splits in halves; the
 * first half rotates by the position, the second by the block position, each with the frequencies of a D/2 head.
 */
export const rope2d: PositionalEncodingPlugin<Rope2dConfig> = {
  kind: 'positional-encoding',
  name: 'rope-2d',
  description: "GLM-130B's 2D RoPE: half of each head rotates by the position, half by the block position",
  configSchema: rope2dSchema,
  positionDims: 2,
  create(config, stack) {
    if (stack.headDim % 4 !== 0)
      throw new Error(`rope-2d rotates pairs within two halves of each head: the head size (dModel / heads = ${stack.headDim}) must be a multiple of 4`);
    return {
      params: [],
      rotate(tape, x, at) {
        if (!at.blockPositions) throw new Error('rope-2d needs block positions; the glm architecture provides them');
        return ops.rope(tape, x, at.positions, config.base, at.blockPositions);
      },
    };
  },
};
