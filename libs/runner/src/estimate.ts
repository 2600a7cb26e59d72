import type { PluginRegistry } from '@unilab/core';
import { tokenizerFor } from './run.ts';
import type { TrainingSpec } from './spec.ts';

/**
 * Parameters a spec's model would have, computed from its validated config without allocating anything, so that a
 * 100-billion-parameter request is refused before a single buffer exists.
 *
 * Counts a LLaMA-style transformer from the config fields the architectures share: token embedding V·d and an untied
 * head d·V; per layer two norm gains (2d), attention q and o (2d²) plus k and v (2·d·kvDim, kvDim = d/heads·kvHeads
 * for grouped-query attention), SwiGLU FFN (3·d·ffn); a final norm (d). Encoder-decoder configs
 * (encoderLayers/decoderLayers) add cross-attention (2d² + 2·d·kvDim + d) per decoder layer. Returns null when the
 * config does not name a width and a depth. `vocabSize` defaults to the byte tokenizer's; a prepared dataset
 * (data.shards) brings its own.
 */
export function estimateParameters(spec: TrainingSpec, registry: PluginRegistry, vocabSize = tokenizerFor(spec, registry).vocabSize): number | null {
  const arch = registry.architecture(spec.model.architecture);
  const config = arch.configSchema.parse(spec.model.config, 'spec.model.config') as Record<string, unknown>;
  const num = (key: string): number | undefined => (typeof config[key] === 'number' ? (config[key] as number) : undefined);
  const d = num('dModel');
  const encoderLayers = num('encoderLayers') ?? 0;
  const decoderLayers = num('decoderLayers') ?? num('layers') ?? 0;
  if (d === undefined || encoderLayers + decoderLayers === 0) return null;
  const heads = num('heads') ?? 1;
  const kvDim = (d / heads) * (num('kvHeads') || heads);
  const ffn = num('ffnHidden') || 4 * d;
  const selfAttention = 2 * d * d + 2 * d * kvDim;
  const block = 2 * d + selfAttention + 3 * d * ffn;
  const crossAttention = encoderLayers > 0 ? selfAttention + d : 0;
  const finalNorms = encoderLayers > 0 ? 2 * d : d;
  return 2 * vocabSize * d + encoderLayers * block + decoderLayers * (block + crossAttention) + finalNorms;
}
