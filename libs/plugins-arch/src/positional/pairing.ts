/**
 * Which architectures read which positions. Every architecture but glm numbers its tokens 0, 1, 2, ... within an
 * example; glm's Part B gives all tokens of a span the position of its [MASK] and orders them by a second, block
 * position (Du et al. 2022 §2.3), so glm needs an encoding of both dimensions and the others cannot use one.
 */
export const ONE_D_ARCHITECTURES = ['decoder', 'prefix-lm', 'unilm', 'encoder', 'encoder-decoder'] as const;
export const TWO_D_ARCHITECTURES = ['glm'] as const;

/** Why a 1D encoding does not serve glm (completes "cannot serve architecture glm: ..."). */
export const NEEDS_1D =
  "GLM's Part B tokens all carry their [MASK]'s position, so an encoding of one position dimension cannot order a span; glm needs its block positions encoded too (Du et al. 2022 §2.3)";

/** Why a 2D encoding serves only glm. */
export const NEEDS_2D = 'it encodes GLM\'s second position dimension (batch.blockPositions), which only the glm architecture reads';
