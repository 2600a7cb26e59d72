import type { PluginRegistry } from '@unilab/core';
import { isBuiltInArchitecture, parameterBreakdown, rowTrainingFlops } from '@unilab/plugins-arch';
import { rowShape, tokenizerFor } from './run.ts';
import type { TrainingSpec } from './spec.ts';

/**
 * Parameters a spec's model would have, from its validated config without allocating anything, so that a
 * 100-billion-parameter request is refused before a single buffer exists. Uses the architectures' closed-form
 * counts (the same formulas `unilab describe` prints); null for an architecture from a plugin package, whose
 * formula unilab does not know. `vocabSize` defaults to the byte tokenizer's; a prepared dataset brings its own.
 */
export function estimateParameters(spec: TrainingSpec, registry: PluginRegistry, vocabSize = tokenizerFor(spec, registry).vocabSize): number | null {
  const name = spec.model.architecture;
  const config = registry.architecture(name).configSchema.parse(spec.model.config, 'spec.model.config');
  if (!isBuiltInArchitecture(name)) return null;
  return parameterBreakdown(name, config, {
    vocabSize,
    seqLen: spec.train.seqLen,
    batchSize: spec.train.batchSize,
    positionalEncoding: (pe) => registry.positionalEncoding(pe),
  }).total;
}

/**
 * Training FLOPs one optimizer step of this spec spends, padding included (every position of every row runs through
 * the kernels): batchSize × gradAccum rows of the shapes the runner builds (rowShape: an encoder-decoder's decoder
 * rows are only as long as its objective needs). Null for an architecture from a plugin package.
 */
export function estimateStepFlops(spec: TrainingSpec, registry: PluginRegistry, vocabSize = tokenizerFor(spec, registry).vocabSize): number | null {
  const name = spec.model.architecture;
  const config = registry.architecture(name).configSchema.parse(spec.model.config, 'spec.model.config');
  if (!isBuiltInArchitecture(name)) return null;
  const shape = rowShape(spec, registry);
  const row = rowTrainingFlops(name, config, {
    vocabSize,
    seqLen: shape.encoderLen ?? shape.seqLen,
    decoderLen: shape.seqLen,
    batchSize: spec.train.batchSize,
    positionalEncoding: (pe) => registry.positionalEncoding(pe),
  });
  return row * spec.train.batchSize * spec.train.gradAccum;
}
