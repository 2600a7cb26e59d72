import { describe, expect, it } from 'vitest';
import {
  ContextWindow,
  cachedLogits,
  createDefaultRegistry,
  encodePrompt,
  fullForwardLogits,
  generate,
  generationLayout,
  loadModel,
  loadedModel,
  runTraining,
  type LoadedModel,
  type Prompt,
} from '../src/index.ts';
import { sotuSubset, tempDir, tinySpec } from './fixtures.ts';

/** Train a tiny model of `architecture` on `objective` for a few steps on real text (SOTU), in process. */
async function trained(architecture: string, objective: { name: string; config?: Record<string, unknown> }, config: Record<string, unknown>, seqLen = 32): Promise<LoadedModel> {
  const corpus = await sotuSubset(3);
  const base = tinySpec(corpus, { train: { steps: 4, seqLen } });
  const spec = { ...base, model: { architecture, config }, objective: { name: objective.name, config: objective.config ?? {} } };
  const registry = createDefaultRegistry();
  const result = await runTraining({ spec, outDir: await tempDir(), registry });
  return loadedModel(result.model, result.tokenizer, result.backend, spec, registry);
}

const ONE_STACK = { layers: 2, dModel: 16, heads: 2, kvHeads: 1 };
const TWO_STACKS = { encoderLayers: 1, decoderLayers: 2, dModel: 16, heads: 2 };

/** Every decoding architecture, each with an objective that gives it its own prompt layout. */
const MODELS: [string, string, { name: string; config?: Record<string, unknown> }, Record<string, unknown>][] = [
  ['decoder (clm: causal)', 'decoder', { name: 'clm' }, ONE_STACK],
  ['prefix-lm (prefixlm: bidirectional input + eos, ALiBi)', 'prefix-lm', { name: 'prefixlm' }, { ...ONE_STACK, positionalEncoding: 'alibi' }],
  ['unilm (unilm: a [MASK] queried after the answer, learned positions)', 'unilm', { name: 'unilm' }, { ...ONE_STACK, positionalEncoding: 'learned-absolute' }],
  ['glm (glm-10b: [gMASK], Part B in 2D positions)', 'glm', { name: 'glm', config: { preset: 'glm-10b' } }, ONE_STACK],
  ['decoder (ul2: [S2S] input eos, sinusoidal)', 'decoder', { name: 'ul2' }, { ...ONE_STACK, positionalEncoding: 'sinusoidal' }],
  ['encoder-decoder (span-corruption: a trailing sentinel, T5 relative bias)', 'encoder-decoder', { name: 'span-corruption' }, { ...TWO_STACKS, positionalEncoding: 't5-relative' }],
  ['encoder-decoder (sclm: the decoder continues, the encoder reads eos)', 'encoder-decoder', { name: 'sclm' }, TWO_STACKS],
];

const PROMPTS = ['The Congress', 'Fellow citizens of the Senate and House', 'We'];

/**
 * Greedy decoding without stopping, through the same window and prompt layout generate uses, reading each step's
 * logits from the cache or from a full forward. Decoding past the end token keeps every step comparable.
 */
async function greedy(loaded: LoadedModel, prompt: Prompt, steps: number, cache: boolean) {
  const window = new ContextWindow(generationLayout(loaded), encodePrompt(loaded.tokenizer, prompt), loaded.seqLen);
  const next = cache ? cachedLogits(loaded.model, loaded.backend, loaded.seqLen)! : fullForwardLogits(loaded.model, loaded.backend);
  const logits: Float32Array[] = [];
  let rowTokens = 0;
  for (let n = 0; n < steps; n++) {
    const row = window.row();
    rowTokens += row.tokens.length;
    const values = await next.logits(row);
    logits.push(values);
    window.push(values.reduce((best, v, i) => (v > values[best] ? i : best), 0));
  }
  next.dispose();
  return { tokens: window.generated(), logits, counts: next.counts, rowTokens };
}

describe('generation with and without the key/value cache', () => {
  it.each(MODELS)('cached and uncached decoding agree token for token, logits bit for bit: %s', async (_label, architecture, objective, config) => {
    const loaded = await trained(architecture, objective, config);
    for (const prompt of PROMPTS) {
      // 40 tokens in a 32-token context: the window moves at least once, so the cache re-prefills a cropped window.
      const cached = await greedy(loaded, prompt, 40, true);
      const full = await greedy(loaded, prompt, 40, false);
      expect(cached.tokens).toEqual(full.tokens);
      for (let i = 0; i < full.logits.length; i++) expect(Array.from(cached.logits[i]), `step ${i}`).toEqual(Array.from(full.logits[i]));
      // The cache did the work: the prompt and the moved window were prefilled, otherwise only what changed was
      // appended, a fraction of the tokens the full forwards read.
      expect(cached.counts.forwards).toBe(0);
      expect(cached.counts.prefills).toBeGreaterThanOrEqual(2);
      expect(cached.counts.appended).toBeLessThan(full.rowTokens / 4);
      // The public entry point agrees too, greedy and sampled.
      for (const temperature of [0, 1]) {
        const options = { maxTokens: 40, temperature, topK: 0, topP: 1, seed: 3 };
        expect(await generate(loaded, prompt, { ...options, cache: true })).toBe(await generate(loaded, prompt, { ...options, cache: false }));
      }
    }
  });

  it('a model without a cache (no startDecoding, or one that returns null) is decoded by full forwards, with the same tokens', async () => {
    const loaded = await trained('decoder', { name: 'clm' }, ONE_STACK);
    const options = { maxTokens: 20, temperature: 0, topK: 0, topP: 1, seed: 1 };
    const reference = await generate(loaded, 'The Congress', options);
    const { startDecoding: _cache, ...withoutMethod } = loaded.model;
    expect(await generate({ ...loaded, model: withoutMethod }, 'The Congress', options)).toBe(reference);
    expect(await generate({ ...loaded, model: { ...loaded.model, startDecoding: () => null } }, 'The Congress', options)).toBe(reference);
  });

  it('samples from a checkpoint exactly as from the live model', async () => {
    const corpus = await sotuSubset(3);
    const spec = tinySpec(corpus, { train: { steps: 3 } });
    const registry = createDefaultRegistry();
    const result = await runTraining({ spec, outDir: await tempDir(), registry });
    const fromCheckpoint = await loadModel(result.checkpoint!, registry);
    const live = loadedModel(result.model, result.tokenizer, result.backend, spec, registry);
    const options = { maxTokens: 12, temperature: 1, topK: 0, topP: 1, seed: 3 };
    const text = await generate(fromCheckpoint, 'The Congress', options);
    expect(await generate(fromCheckpoint, 'The Congress', options)).toBe(text);
    expect(await generate(live, 'The Congress', options)).toBe(text);
  });

  it('refuses an encoder-only model, saying why', async () => {
    const corpus = await sotuSubset(3);
    const base = tinySpec(corpus, { train: { steps: 2 } });
    const spec = { ...base, model: { architecture: 'encoder', config: { layers: 1, dModel: 16, heads: 2 } }, objective: { name: 'bert-mlm', config: {} } };
    const registry = createDefaultRegistry();
    const result = await runTraining({ spec, outDir: await tempDir(), registry });
    await expect(generate(loadedModel(result.model, result.tokenizer, result.backend, spec, registry), 'x', { maxTokens: 2, temperature: 1, topK: 0, topP: 1, seed: 1 })).rejects.toThrow(
      'cannot sample from architecture "encoder": a bidirectional encoder predicts no next token',
    );
  });
});
