import type { ArchitecturePlugin } from '@unilab/core';
import { rowTrainingFlops, trainingFootprint } from './describe.ts';
import { blockProjections } from './tunable-projections.ts';
import { createSingleStackModel, singleStackConfigSchema, type SingleStackConfig } from './single-stack-model.ts';

/**
 * Encoder-only transformer (BERT, Devlin et al. 2019): every position attends to its whole segment (the batch's
 * prefixEnd covers the example) and the head predicts tokens at the masked positions. LLaMA's blocks by default;
 * BERT's own choices are options: post-norm LayerNorm, GELU, learned absolute positions, tied embeddings.
 */
export const encoderArchitecture: ArchitecturePlugin<SingleStackConfig> = {
  kind: 'architecture',
  name: 'encoder',
  description: 'Encoder-only transformer (BERT-style), bidirectional within each segment',
  configSchema: singleStackConfigSchema('rope'),
  attention: 'bidirectional',
  consumes: { form: 'single-stack', positionDims: 1, masks: ['bidirectional'] },
  create: (config, env) => createSingleStackModel({ name: 'encoder', attention: 'bidirectional', blockPositions: false }, config, env),
  tunableProjections: (config) => blockProjections(config, false),
  footprint: (config, env) => trainingFootprint('encoder', config, env),
  rowTrainingFlops: (config, env) => rowTrainingFlops('encoder', config, env),
};
