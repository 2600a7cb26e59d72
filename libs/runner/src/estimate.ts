import type { PluginRegistry, TrainingFootprint } from '@unilab/core';
import { rowShape, tokenizerFor } from './run.ts';
import type { TrainingSpec } from './spec.ts';

/**
 * Parameters and peak training memory of a spec's model, from its validated config without allocating anything, so
 * that a 100-billion-parameter request is refused before a single buffer exists. The architecture plugin computes
 * it (its `footprint` hook; the built-in ones use the formulas `unilab describe` prints); null for a plugin without
 * the hook. `vocabSize` defaults to the spec's tokenizer's; a prepared dataset brings its own.
 */
export function estimateTraining(spec: TrainingSpec, registry: PluginRegistry, vocabSize = tokenizerFor(spec, registry).vocabSize): TrainingFootprint | null {
  const plugin = registry.architecture(spec.model.architecture);
  const config = plugin.configSchema.parse(spec.model.config, 'spec.model.config');
  if (!plugin.footprint) return null;
  return plugin.footprint(config, {
    vocabSize,
    seqLen: spec.train.seqLen,
    batchSize: spec.train.batchSize,
    positionalEncoding: (pe) => registry.positionalEncoding(pe),
  });
}

/** The parameter count of estimateTraining; null for an architecture that cannot estimate itself. */
export function estimateParameters(spec: TrainingSpec, registry: PluginRegistry, vocabSize?: number): number | null {
  return estimateTraining(spec, registry, vocabSize)?.parameters ?? null;
}

/**
 * Training FLOPs one optimizer step of this spec spends, padding included (every position of every row runs through
 * the kernels): batchSize × gradAccum rows of the shapes the runner builds (rowShape: an encoder-decoder's decoder
 * rows are only as long as its objective needs), each costed by the architecture's `rowTrainingFlops` hook. Null for
 * a plugin without the hook.
 */
export function estimateStepFlops(spec: TrainingSpec, registry: PluginRegistry, vocabSize = tokenizerFor(spec, registry).vocabSize): number | null {
  const plugin = registry.architecture(spec.model.architecture);
  if (!plugin.rowTrainingFlops) return null;
  const config = plugin.configSchema.parse(spec.model.config, 'spec.model.config');
  const shape = rowShape(spec, registry);
  const row = plugin.rowTrainingFlops(config, {
    vocabSize,
    seqLen: shape.encoderLen ?? shape.seqLen,
    decoderLen: shape.seqLen,
    batchSize: spec.train.batchSize,
    positionalEncoding: (pe) => registry.positionalEncoding(pe),
  });
  return row * spec.train.batchSize * spec.train.gradAccum;
}
