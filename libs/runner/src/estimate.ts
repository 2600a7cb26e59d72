import type { PluginRegistry } from '@unilab/core';
import { isBuiltInArchitecture, parameterBreakdown } from '@unilab/plugins-arch';
import { tokenizerFor } from './run.ts';
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
