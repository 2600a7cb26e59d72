import type { ArchitecturePlugin, PositionalEncodingPlugin } from '@unilab/core';
import { decoder } from './decoder.ts';
import { encoderArchitecture } from './encoder.ts';
import { encoderDecoderArchitecture } from './encoder-decoder.ts';
import { glmArchitecture } from './glm.ts';
import { prefixLmArchitecture } from './prefix-lm.ts';
import { unilmArchitecture } from './unilm.ts';
import { builtinPositionalEncodings } from './positional/builtin.ts';

export { decoder, type DecoderConfig } from './decoder.ts';
export { prefixLmArchitecture } from './prefix-lm.ts';
export { unilmArchitecture } from './unilm.ts';
export { glmArchitecture } from './glm.ts';
export { encoderArchitecture } from './encoder.ts';
export { encoderDecoderArchitecture, type EncoderDecoderConfig } from './encoder-decoder.ts';
export { llamaFfnHidden, type BlockConfig, type ModelOptions, type Activation, type Norm, type NormPlacement } from './config.ts';
export type { SingleStackConfig } from './single-stack-model.ts';
export { normalParameter, onesParameter } from './init.ts';
export { alibiSlopes } from './positional/alibi.ts';
export { relativePositionBucket } from './positional/t5-relative.ts';
export { sinusoidalTable } from './positional/sinusoidal.ts';
export { describeModel, matchedEncoderDecoders, parameterBreakdown, rowTrainingFlops, trainingFootprint, type ModelDescription, type ParameterBreakdown } from './describe.ts';

/** Every architecture this library provides, for an explicit registry. */
export const architecturePlugins: readonly ArchitecturePlugin<any>[] = [
  decoder,
  prefixLmArchitecture,
  unilmArchitecture,
  glmArchitecture,
  encoderArchitecture,
  encoderDecoderArchitecture,
];

/** Every positional encoding this library provides, for an explicit registry. */
export const positionalEncodingPlugins: readonly PositionalEncodingPlugin<any>[] = builtinPositionalEncodings;
