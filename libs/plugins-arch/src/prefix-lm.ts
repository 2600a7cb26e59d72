import type { ArchitecturePlugin } from '@unilab/core';
import { rowTrainingFlops, trainingFootprint } from './describe.ts';
import { blockProjections } from './tunable-projections.ts';
import { createSingleStackModel, singleStackConfigSchema, type SingleStackConfig } from './single-stack-model.ts';

/**
 * Non-causal decoder (prefix LM): the decoder's network with attention bidirectional over the prefix and causal
 * after it (Raffel et al. 2020 §3.2.1 Fig. 4; PaLM's "partial attention"; Wang et al. 2022's non-causal decoder).
 * The prefix is the batch's prefixEnd. Its parameters are exactly the decoder's; relative encodings use their
 * bidirectional form here.
 */
export const prefixLmArchitecture: ArchitecturePlugin<SingleStackConfig> = {
  kind: 'architecture',
  name: 'prefix-lm',
  description: 'Non-causal decoder: bidirectional over the prefix, causal after it (T5 §3.2.1, Wang et al. 2022)',
  configSchema: singleStackConfigSchema('rope'),
  attention: 'mixed',
  consumes: { form: 'single-stack', positionDims: 1, masks: ['causal', 'prefix', 'bidirectional'] },
  create: (config, env) => createSingleStackModel({ name: 'prefix-lm', attention: 'mixed', blockPositions: false }, config, env),
  tunableProjections: (config) => blockProjections(config, false),
  footprint: (config, env) => trainingFootprint('prefix-lm', config, env),
  rowTrainingFlops: (config, env) => rowTrainingFlops('prefix-lm', config, env),
};
