import type { ArchitecturePlugin } from '@unilab/core';
import { rowTrainingFlops, trainingFootprint } from './describe.ts';
import { blockProjections } from './tunable-projections.ts';
import { createSingleStackModel, singleStackConfigSchema, type SingleStackConfig } from './single-stack-model.ts';

/**
 * UniLM (Dong et al. 2019, §2 and Figure 1): one shared transformer whose self-attention mask changes per example —
 * bidirectional, left-to-right, right-to-left (left-to-right over the reversed example) or seq2seq. The mask mode
 * travels in the batch (segments and prefixEnd per example), so one network serves all four.
 */
export const unilmArchitecture: ArchitecturePlugin<SingleStackConfig> = {
  kind: 'architecture',
  name: 'unilm',
  description: 'UniLM: one shared transformer, per-example mask (bidirectional, L→R, R→L, seq2seq)',
  configSchema: singleStackConfigSchema('rope'),
  attention: 'mixed',
  consumes: { form: 'single-stack', positionDims: 1, masks: ['causal', 'prefix', 'bidirectional'] },
  create: (config, env) => createSingleStackModel({ name: 'unilm', attention: 'mixed', blockPositions: false }, config, env),
  tunableProjections: (config) => blockProjections(config, false),
  footprint: (config, env) => trainingFootprint('unilm', config, env),
  rowTrainingFlops: (config, env) => rowTrainingFlops('unilm', config, env),
};
