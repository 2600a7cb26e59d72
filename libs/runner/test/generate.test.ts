import { describe, expect, it } from 'vitest';
import { createDefaultRegistry, generate, loadModel, runTraining } from '../src/index.ts';
import { sotuSubset, tempDir, tinySpec } from './fixtures.ts';

describe('generate', () => {
  it.each([
    ['decoder', 'clm', { layers: 1, dModel: 16, heads: 2 }],
    ['prefix-lm', 'prefixlm', { layers: 1, dModel: 16, heads: 2 }],
    ['encoder-decoder', 'span-corruption', { encoderLayers: 1, decoderLayers: 1, dModel: 16, heads: 2 }],
  ])('samples from a trained %s checkpoint (%s)', async (architecture, objective, config) => {
    const corpus = await sotuSubset(3);
    const base = tinySpec(corpus, { train: { steps: 3 } });
    const spec = { ...base, model: { architecture, config }, objective: { name: objective, config: {} } };
    const registry = createDefaultRegistry();
    const result = await runTraining({ spec, outDir: await tempDir(), registry });
    const loaded = await loadModel(result.checkpoint!, registry);
    const options = { maxTokens: 12, temperature: 1, topK: 0, topP: 1, seed: 3 };
    const text = await generate(loaded, 'The Congress', options);
    // Deterministic under a seed, and the same from the live model and from its checkpoint.
    expect(await generate(loaded, 'The Congress', options)).toBe(text);
    expect(await generate({ ...loaded, model: result.model, backend: result.backend }, 'The Congress', options)).toBe(text);
  });

  it('refuses an architecture it cannot sample from, saying which it can', async () => {
    const corpus = await sotuSubset(3);
    const base = tinySpec(corpus, { train: { steps: 2 } });
    const spec = { ...base, model: { architecture: 'encoder', config: { layers: 1, dModel: 16, heads: 2 } }, objective: { name: 'bert-mlm', config: {} } };
    const registry = createDefaultRegistry();
    const result = await runTraining({ spec, outDir: await tempDir(), registry });
    await expect(generate({ model: result.model, tokenizer: result.tokenizer, backend: result.backend, seqLen: 32, spec }, 'x', { maxTokens: 2, temperature: 1, topK: 0, topP: 1, seed: 1 })).rejects.toThrow(
      'cannot sample from architecture "encoder": generation supports decoder, prefix-lm, unilm, encoder-decoder',
    );
  });
});
