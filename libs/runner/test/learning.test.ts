import { describe, expect, it } from 'vitest';
import { createDefaultRegistry, generate, loadedModel, runTraining } from '../src/index.ts';
import { sotuSubset, tempDir, tinySpec } from './fixtures.ts';

describe('a small decoder learns real text', () => {
  it('held-out loss falls well below the unigram entropy of the corpus', async () => {
    const corpus = await sotuSubset(30);
    const spec = tinySpec(corpus, {
      model: { layers: 1, dModel: 64, heads: 2 },
      train: { steps: 150, batchSize: 8, seqLen: 64, lr: 5e-3, minLr: 5e-4, warmupSteps: 10, evalBatches: 4 },
    });
    const registry = createDefaultRegistry();
    const result = await runTraining({ spec, outDir: await tempDir(), registry });
    // Byte-level English has a unigram entropy near 3.0 nats; context must buy at least 20% of it.
    expect(result.unigramEntropy).toBeGreaterThan(2.5);
    expect(result.heldOutLoss).toBeLessThan(0.8 * result.unigramEntropy);
    const sample = await generate(
      loadedModel(result.model, result.tokenizer, result.backend, spec, registry),
      'The ',
      { maxTokens: 40, temperature: 0.8, topK: 0, topP: 0.95, seed: 1 },
    );
    expect(sample.length).toBeGreaterThan(0);
  });
});
