import type { ArchitecturePlugin } from '@unilab/core';
import { rowTrainingFlops, trainingFootprint } from './describe.ts';
import { blockProjections } from './tunable-projections.ts';
import { createSingleStackModel, singleStackConfigSchema, type SingleStackConfig } from './single-stack-model.ts';

/**
 * GLM (Du et al. 2022, §2.1–2.3 and Figure 2): Part A (the text with blanks) attends bidirectionally, Part B (the
 * spans) autoregressively over Part A and its own past — the batch's prefixEnd = |Part A|. Tokens carry 2D positions
 * (batch.positions, batch.blockPositions), encoded by glm-2d (GLM's learned tables) or rope-2d (GLM-130B, default).
 */
export const glmArchitecture: ArchitecturePlugin<SingleStackConfig> = {
  kind: 'architecture',
  name: 'glm',
  description: 'GLM: Part A bidirectional, Part B autoregressive, 2D positions (rope-2d or glm-2d)',
  configSchema: singleStackConfigSchema('rope-2d'),
  attention: 'mixed',
  consumes: { form: 'single-stack', positionDims: 2, masks: ['causal', 'prefix', 'bidirectional'] },
  create: (config, env) => createSingleStackModel({ name: 'glm', attention: 'mixed', blockPositions: true }, config, env),
  tunableProjections: (config) => blockProjections(config, false),
  footprint: (config, env) => trainingFootprint('glm', config, env),
  rowTrainingFlops: (config, env) => rowTrainingFlops('glm', config, env),
};
