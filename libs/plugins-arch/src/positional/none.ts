import { object, type PositionalEncodingPlugin } from '@unilab/core';

/**
 * No positional encoding (NoPE). A causal decoder still learns positions: a token can count the tokens its mask lets
 * it see (Haviv et al. 2022; Kazemnejad et al. 2023). Bidirectional attention is permutation-invariant, so every other
 * architecture would lose word order.
 */
export const noPositions: PositionalEncodingPlugin<Record<string, never>> = {
  kind: 'positional-encoding',
  name: 'none',
  description: 'No positional information; a causal decoder infers order from its mask (Haviv et al. 2022)',
  configSchema: object({}),
  positionDims: 1,
  // A prefix-lm, UniLM or encoder stack reads part of its input both ways: order would be lost (Haviv et al. 2022).
  attention: ['causal'],
  create: () => ({ params: [] }),
};
