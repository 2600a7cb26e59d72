import { describe, expect, it } from 'vitest';
import { Rng, createReferenceBackend, sampleModelGradients, type Batch } from '@unilab/core';
import { decoder } from '@unilab/plugins-arch';

// The whole decoder (embedding, RMSNorm, RoPE, GQA attention over packed documents, SwiGLU, residuals, head,
// masked cross-entropy) through the tape, against central finite differences in float64.
describe('decoder gradients through the autodiff tape', () => {
  it('match central finite differences in float64 for every parameter', async () => {
    const backend = createReferenceBackend({ precision: 'f64' });
    const config = decoder.configSchema.parse({ layers: 2, dModel: 12, heads: 3, kvHeads: 1, ffnHidden: 7 }, 'model');
    const model = decoder.create(config, { backend, vocabSize: 11, rng: new Rng(4) });
    const t = 5;
    const batch: Batch = {
      batchSize: 2,
      seqLen: t,
      tokens: Int32Array.from([1, 4, 2, 9, 3, 7, 7, 0, 5, 10]),
      targets: Int32Array.from([4, 2, 9, 3, 0, 7, 0, 5, 10, 1]),
      lossMask: Float32Array.from([1, 1, 0, 1, 1, 1, 1, 1, 1, 0]),
      segmentIds: Int32Array.from([0, 0, 0, 1, 1, 0, 0, 0, 0, -1]),
      prefixEnd: Int32Array.from([0, 0, 0, 0, 0, 2, 2, 0, 0, 0]),
      positions: Int32Array.from([0, 1, 2, 0, 1, 0, 1, 2, 3, 0]),
    };
    for (const { where, analytic, numeric } of sampleModelGradients(backend, model, batch, { samplesPerParameter: 6, seed: 8 }))
      expect(Math.abs(analytic - numeric), where).toBeLessThan(1e-7 + 1e-5 * Math.abs(numeric));
  });
});
