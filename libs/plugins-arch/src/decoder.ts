import type { ArchitecturePlugin } from '@unilab/core';
import { rowTrainingFlops, trainingFootprint } from './describe.ts';
import { blockProjections } from './tunable-projections.ts';
import { createSingleStackModel, singleStackConfigSchema, type SingleStackConfig } from './single-stack-model.ts';

export type DecoderConfig = SingleStackConfig;

/**
 * Decoder-only transformer, by default exactly LLaMA (Touvron et al. 2023): pre-RMSNorm, RoPE, SwiGLU, untied head.
 * Always causal: it ignores the batch's prefixEnd, so under a seq2seq objective it reads the inputs left to right
 * (T5's "Language model" row, Raffel et al. 2020 §3.2.1 and Table 2), where `prefix-lm` reads them both ways (T5's
 * "Prefix LM" row; UL2's decoder rows, Tay et al. 2022 §4). Same parameters, different mask: the pair isolates
 * what a bidirectional input buys (Su 2023).
 */
export const decoder: ArchitecturePlugin<DecoderConfig> = {
  kind: 'architecture',
  name: 'decoder',
  description: 'Decoder-only transformer, LLaMA by default (pre-RMSNorm, SwiGLU, RoPE, untied head)',
  configSchema: singleStackConfigSchema('rope'),
  attention: 'causal',
  consumes: { form: 'single-stack', positionDims: 1, masks: ['causal'] },
  create: (config, env) => createSingleStackModel({ name: 'decoder', attention: 'causal', blockPositions: false }, config, env),
  tunableProjections: (config) => blockProjections(config, false),
  footprint: (config, env) => trainingFootprint('decoder', config, env),
  rowTrainingFlops: (config, env) => rowTrainingFlops('decoder', config, env),
};
