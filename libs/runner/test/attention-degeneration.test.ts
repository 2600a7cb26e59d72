import { describe, expect, it } from 'vitest';
import { attentionDegeneration, createDefaultRegistry, degenerationPrompts, loadedModel, meanDegeneration, prepareData, runTraining } from '../src/index.ts';
import { sotuSubset, tempDir, tinySpec } from './fixtures.ts';

/**
 * Fu et al. 2023's attention degeneration, measured on tiny trained models: the analysis recomputes each attention
 * from the model's own q, k, v (and checks the result against the op's output, so a wrong mask would throw here).
 */
describe('attention degeneration (Fu et al. 2023): source attention as generation proceeds', () => {
  const train = async (architecture: string, objective: string, config: Record<string, unknown>) => {
    const corpus = await sotuSubset(3);
    const base = tinySpec(corpus, { train: { steps: 8, seqLen: 48 } });
    const spec = { ...base, model: { architecture, config }, objective: { name: objective, config: {} } };
    const registry = createDefaultRegistry();
    const result = await runTraining({ spec, outDir: await tempDir(), registry });
    const data = await prepareData(corpus, 0.1, result.tokenizer);
    const prompts = degenerationPrompts(data.heldOut.length > 0 ? data.heldOut : data.train, 16, 12, 2);
    const loaded = loadedModel(result.model, result.tokenizer, result.backend, spec, registry);
    return { loaded, prompts };
  };

  it.each([
    ['decoder', 'clm'],
    ['prefix-lm', 'prefixlm'],
  ])('%s (%s): at step 0 every key is the prompt (mass 1), later the prompt shares the softmax with the generated tokens', async (architecture, objective) => {
    const { loaded, prompts } = await train(architecture, objective, { layers: 2, dModel: 16, heads: 2 });
    const curves = [];
    for (const { prompt } of prompts) curves.push(await attentionDegeneration(loaded, prompt, { steps: 12 }));
    for (const c of curves) {
      expect(c.layers).toHaveLength(2);
      expect(c.continuation.length).toBeGreaterThan(1);
      for (const l of c.layers) {
        expect(l.sourceMass![0]).toBeCloseTo(1, 6);
        expect(l.sourceShare[0]).toBeCloseTo(1, 6);
        for (const m of l.sourceMass!.slice(1)) expect(m).toBeGreaterThan(0), expect(m).toBeLessThan(1);
        for (const s of l.sourceShare) expect(s).toBeGreaterThanOrEqual(0), expect(s).toBeLessThanOrEqual(1);
      }
    }
    const mean = meanDegeneration(curves);
    expect(mean).toHaveLength(2);
    expect(mean[0].sourceMass![0]).toBeCloseTo(1, 6);
    // The reference continuation (teacher forcing) is measured the same way.
    const reference = await attentionDegeneration(loaded, prompts[0].prompt, { steps: 12, continuation: { reference: prompts[0].reference } });
    expect(reference.continuation).toEqual(prompts[0].reference);
  });

  it('encoder-decoder: the cross-attention is the source, compared with the decoder self-attention; too many steps are refused', async () => {
    const { loaded, prompts } = await train('encoder-decoder', 'prefixlm', { encoderLayers: 1, decoderLayers: 2, dModel: 16, heads: 2 });
    const c = await attentionDegeneration(loaded, prompts[0].prompt, { steps: 12, continuation: { reference: prompts[0].reference } });
    expect(c.layers).toHaveLength(2);
    for (const l of c.layers) {
      expect(l.sourceMass).toBeNull();
      expect(l.sourceShare).toHaveLength(12);
      for (const s of l.sourceShare) expect(s).toBeGreaterThan(0), expect(s).toBeLessThan(1);
    }
    await expect(attentionDegeneration(loaded, prompts[0].prompt, { steps: 48 })).rejects.toThrow('do not fit the model');
  });
});
