import { object, type PositionalEncodingPlugin } from '@unilab/core';
import { ONE_D_ARCHITECTURES } from './pairing.ts';

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
  architectures: ONE_D_ARCHITECTURES,
  // Refused by declaration, not by name: a prefix-lm, UniLM or encoder stack reads part of its input both ways.
  attention: ['causal'],
  requirement:
    'without positions only a causal mask reveals order (Haviv et al. 2022); any bidirectional attention is permutation-invariant and loses word order',
  create: () => ({ params: [] }),
};
