import { Var, field, integer, number, object, ops, type PositionalEncodingPlugin } from '@unilab/core';
import { tableTooShort } from './learned-absolute.ts';

const sinusoidalSchema = object({
  maxPositions: field(integer({ min: 1, max: 1 << 20 }), 4096),
  base: field(number({ greaterThan: 1 }), 10000),
});
export type SinusoidalConfig = ReturnType<typeof sinusoidalSchema.parse>;

/** The table of Vaswani et al. 2017 §3.5: PE(pos, 2i) = sin(pos / base^(2i/d)), PE(pos, 2i+1) = cos(pos / base^(2i/d)). */
export function sinusoidalTable(maxPositions: number, d: number, base: number): Float32Array {
  const table = new Float32Array(maxPositions * d);
  for (let pos = 0; pos < maxPositions; pos++) {
    for (let i = 0; 2 * i < d; i++) {
      const angle = pos / Math.pow(base, (2 * i) / d);
      table[pos * d + 2 * i] = Math.sin(angle);
      if (2 * i + 1 < d) table[pos * d + 2 * i + 1] = Math.cos(angle);
    }
  }
  return table;
}

/** Fixed sinusoidal position encodings added to the token embeddings (Vaswani et al. 2017). No parameters. */
export const sinusoidal: PositionalEncodingPlugin<SinusoidalConfig> = {
  kind: 'positional-encoding',
  name: 'sinusoidal',
  description: 'Fixed sine/cosine position encodings added to the token embeddings (Vaswani et al. 2017)',
  configSchema: sinusoidalSchema,
  positionDims: 1,
  check: (config, use) => tableTooShort(config.maxPositions, use.seqLen),
  create(config, stack) {
    // Computed once and kept with the model; not a parameter, so neither trained nor checkpointed.
    const table = new Var(stack.backend.fromArray(sinusoidalTable(config.maxPositions, stack.dModel, config.base), [config.maxPositions, stack.dModel]), false);
    return { params: [], embed: (tape, x, at) => ops.add(tape, x, ops.embedding(tape, at.positions, table)) };
  },
};
