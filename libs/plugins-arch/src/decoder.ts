import type { ArchitecturePlugin } from '@unilab/core';
import { trainingFootprint } from './describe.ts';
import { createSingleStackModel, singleStackConfigSchema, type SingleStackConfig } from './single-stack-model.ts';

export type DecoderConfig = SingleStackConfig;

/**
 * Decoder-only transformer, by default exactly LLaMA (Touvron et al. 2023): pre-RMSNorm, RoPE, SwiGLU, untied head.
 * Causal under a causal LM's batches (prefixEnd 0); it follows whatever mask its batch carries, which is how the
 * decoder-only forms of the seq2seq objectives give it a bidirectional input (UL2 Table 3).
 */
export const decoder: ArchitecturePlugin<DecoderConfig> = {
  kind: 'architecture',
  name: 'decoder',
  description: 'Decoder-only transformer, LLaMA by default (pre-RMSNorm, SwiGLU, RoPE, untied head)',
  configSchema: singleStackConfigSchema('rope'),
  create: (config, env) => createSingleStackModel({ name: 'decoder', attention: 'causal', blockPositions: false }, config, env),
  footprint: (config, env) => trainingFootprint('decoder', config, env),
};
