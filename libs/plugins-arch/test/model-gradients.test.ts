import { describe, expect, it } from 'vitest';
import { createReferenceBackend, sampleModelGradients } from '@unilab/core';
import { packBatch } from './batches.ts';
import { buildModel, rawConfig } from './models.ts';

// Whole models through the tape against central finite differences in float64, on the paths the decoder check in
// libs/runner does not cover: cross-attention, tied heads, LayerNorm post-norm, GELU/ReLU, learned and relative
// position tables, 2D positions, dropout.
const backend = createReferenceBackend({ precision: 'f64' });

const cases: [string, string, Record<string, unknown>][] = [
  ['encoder-decoder', 'T5 bias, tied head, separate embeddings, ReLU, GQA, dropout', { positionalEncoding: 't5-relative', tieEmbeddings: true, shareEmbeddings: false, activation: 'relu', heads: 4, kvHeads: 2, dropout: 0.2 }],
  ['encoder', 'post-norm LayerNorm, GELU, learned positions', { norm: 'layernorm', normPlacement: 'post', activation: 'gelu', positionalEncoding: { name: 'learned-absolute', config: { maxPositions: 8 } } }],
  ['glm', 'GLM 2D position tables', { positionalEncoding: { name: 'glm-2d', config: { maxPositions: 8 } } }],
  ['prefix-lm', 'ALiBi, multi-query attention', { positionalEncoding: 'alibi', kvHeads: 1, heads: 4 }],
];

describe('architecture gradients match finite differences (float64)', () => {
  it.each(cases)('%s: %s', (arch, _, config) => {
    const model = buildModel(arch, backend, 9, rawConfig(arch, 1, { dModel: 8, heads: 2, ffnHidden: 6, ...config }), 3);
    const layout = { length: 4, mode: { kind: 'prefix' as const, prefix: 2 }, encoderLength: 3, positions: [0, 1, 1, 1], blockPositions: [0, 0, 1, 2] };
    const { batch } = packBatch([[layout, { ...layout, length: 3, positions: undefined, blockPositions: undefined }]], 8, 9, 2, arch === 'encoder-decoder' ? 7 : 0);
    for (const { where, analytic, numeric } of sampleModelGradients(backend, model, batch, { samplesPerParameter: 4, seed: 8 }))
      expect(Math.abs(analytic - numeric), where).toBeLessThan(1e-7 + 1e-5 * Math.abs(numeric));
  });
});
