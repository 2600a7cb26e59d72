import { field, number, object, ops, type PositionalEncodingPlugin } from '@unilab/core';

const ropeSchema = object({
  /** θ base of the frequencies base^(-2i/D): 10000 in RoFormer and LLaMA, 500000 in LLaMA 3. */
  base: field(number({ greaterThan: 1 }), 10000),
});
export type RopeConfig = ReturnType<typeof ropeSchema.parse>;

/**
 * Rotary position embedding (Su et al. 2021, RoFormer §3.4): queries and keys rotate pairwise by angles
 * proportional to their positions, so q_m·k_n depends on the positions only through m - n.
 */
export const rope: PositionalEncodingPlugin<RopeConfig> = {
  kind: 'positional-encoding',
  name: 'rope',
  description: 'Rotary position embedding on queries and keys (Su et al. 2021); configurable base',
  configSchema: ropeSchema,
  positionDims: 1,
  create(config, stack) {
    if (stack.headDim % 2 !== 0) throw new Error(`rope rotates pairs of dimensions: the head size (dModel / heads = ${stack.headDim}) must be even`);
    return { params: [], rotate: (tape, x, at) => ops.rope(tape, x, at.positions, config.base) };
  },
};
