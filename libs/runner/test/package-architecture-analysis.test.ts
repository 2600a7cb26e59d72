import { beforeAll, describe, expect, it } from 'vitest';
import { Tape, createReferenceBackend, uploadBatch, type PluginRegistry } from '@unilab/core';
import {
  attentionDegeneration,
  attentionSpectra,
  buildModel,
  degenerationPrompts,
  createDefaultRegistry,
  loadedModel,
  parseTrainingSpec,
  prepareData,
  promptBatch,
  recordAttention,
  runTraining,
  singleExampleBatch,
  type LoadedModel,
  type TrainingSpec,
} from '../src/index.ts';
import { sotuSubset, tempDir, tinySpec } from './fixtures.ts';
import { bareDecoder, myDecoder, registryWithPackage } from './package-architectures.ts';

// The analyses read what an architecture exposes (Model.attentionSites: which op is which layer, its output
// projection), not built-in names: a package architecture trained with a package encoding and objective is
// measured exactly as the built-in decoder carrying the same weights, and one that exposes nothing is refused.
describe('attention analyses on a package architecture', () => {
  let registry: PluginRegistry;
  let mine: LoadedModel;
  let builtIn: LoadedModel;
  let prompts: { prompt: number[]; reference: number[] }[];

  beforeAll(async () => {
    registry = await registryWithPackage([myDecoder, bareDecoder]);
    const corpus = await sotuSubset(3);
    const base = tinySpec(corpus, { train: { steps: 8, lr: 1e-2 }, model: { layers: 2 } });
    const spec = (architecture: string): TrainingSpec => ({
      ...base,
      model: { architecture, config: { ...base.model.config, positionalEncoding: { name: 'xpos', config: { maxPositions: 64 } } } },
      objective: { name: 'fim', config: {} },
    });
    const result = await runTraining({ spec: spec('my-decoder'), outDir: await tempDir(), registry });
    mine = loadedModel(result.model, result.tokenizer, result.backend, spec('my-decoder'), registry);
    // The built-in decoder with the trained weights: the same network, known to the tools under its own name.
    const decoder = buildModel(spec('decoder'), registry, result.backend, result.tokenizer.vocabSize);
    for (const [i, p] of decoder.params.entries()) result.backend.write(p.value, await result.backend.read(result.model.params[i].value));
    builtIn = loadedModel(decoder, result.tokenizer, result.backend, spec('decoder'), registry);
    const data = await prepareData(corpus, 0.1, result.tokenizer);
    prompts = degenerationPrompts(data.heldOut.length > 0 ? data.heldOut : data.train, 8, 8, 1);
  }, 60_000);

  it('attention rank: every head of both layers, the same spectra as the built-in decoder with its weights', async () => {
    const batch = singleExampleBatch([...prompts[0].prompt, ...prompts[0].reference], 0);
    const spectra = await attentionSpectra(mine.model, mine.backend, batch, { tolerance: 1e-9 });
    expect(spectra).toHaveLength(2 * 2 * 2);
    for (const s of spectra.filter((x) => x.mask === 'causal')) expect(s.numericalRank).toBe(16);
    expect(spectra).toEqual(await attentionSpectra(builtIn.model, builtIn.backend, batch, { tolerance: 1e-9 }));
  });

  it('attention degeneration: read through the declared sites and the declared causal reading, as for the built-in decoder', async () => {
    const options = { steps: 8, continuation: { reference: prompts[0].reference } };
    const curves = await attentionDegeneration(mine, prompts[0].prompt, options);
    expect(curves.architecture).toBe('my-decoder');
    expect(curves.layers.map((l) => l.layer)).toEqual([0, 1]);
    for (const l of curves.layers) expect(l.sourceMass![0]).toBeCloseTo(1, 6);
    expect({ ...curves, architecture: 'decoder' }).toEqual(await attentionDegeneration(builtIn, prompts[0].prompt, options));
  });

  it('refuses an architecture that exposes no attention sites, or sites its forward does not record, naming it and what is missing', async () => {
    const spec = { ...mine.spec, model: { ...mine.spec.model, architecture: 'bare-decoder' } };
    const bare = loadedModel(buildModel(spec, registry, mine.backend, mine.tokenizer.vocabSize), mine.tokenizer, mine.backend, spec, registry);
    const batch = singleExampleBatch(prompts[0].prompt, 0);
    const missing = /reads where its attention ops are \(Model\.attentionSites: .*\); architecture "bare-decoder" does not expose it, so attention (rank|degeneration) cannot run on it/;
    await expect(attentionSpectra(bare.model, bare.backend, batch)).rejects.toThrow(missing);
    await expect(attentionDegeneration(bare, prompts[0].prompt, { steps: 4 })).rejects.toThrow(missing);
    const misdeclared = { ...mine.model, attentionSites: mine.model.attentionSites!.slice(1) };
    await expect(recordAttention(misdeclared, mine.backend, batch, 'attention rank')).rejects.toThrow('attention rank: architecture "my-decoder" declares 1 attention sites, but its forward recorded 2 attention ops');
  });
});

describe('the built-in architectures expose both readings', () => {
  const configs: Record<string, Record<string, unknown>> = {
    decoder: { layers: 2, dModel: 16, heads: 2, kvHeads: 1 },
    'prefix-lm': { layers: 2, dModel: 16, heads: 2, positionalEncoding: 'alibi' },
    unilm: { layers: 2, dModel: 16, heads: 2 },
    glm: { layers: 2, dModel: 16, heads: 2 },
    encoder: { layers: 2, dModel: 16, heads: 2 },
    'encoder-decoder': { encoderLayers: 1, decoderLayers: 2, dModel: 16, heads: 2, positionalEncoding: 't5-relative' },
  };
  it.each(Object.keys(configs))('%s: one attention site per recorded attention op, in forward order; hidden states of the declared width', async (architecture) => {
    const registry = createDefaultRegistry();
    const backend = createReferenceBackend();
    const model = buildModel(parseTrainingSpec({ model: { architecture, config: configs[architecture] } }), registry, backend, 300);
    const batch = promptBatch(registry.architecture(architecture).consumes, [5, 6, 7, 8], [9, 10, 11], 0);
    const records = await recordAttention(model, backend, batch, 'test');
    const sites = records.map((r) => `${r.site.stack}.${r.site.layer}.${r.site.attends}`);
    expect(sites).toEqual(
      architecture === 'encoder-decoder' ? ['encoder.0.self', 'decoder.0.self', 'decoder.0.cross', 'decoder.1.self', 'decoder.1.cross'] : ['stack.0.self', 'stack.1.self'],
    );
    // The encoder reads the 4-token prompt, and a cross-attention's keys are its positions; each site's output
    // projection is its layer's own [d, d] Wo.
    for (const r of records) {
      const encoderKeys = r.site.stack === 'encoder' || r.site.attends === 'cross';
      expect([r.queries, r.keys]).toEqual([r.site.stack === 'encoder' ? 4 : batch.seqLen, encoderKeys ? 4 : batch.seqLen]);
      expect(r.site.output.value.shape).toEqual([16, 16]);
    }
    expect(new Set(records.map((r) => r.site.output)).size).toBe(records.length);
    const tape = new Tape(backend, false);
    expect(model.hiddenStates!.read(tape, uploadBatch(tape, batch)).shape).toEqual([1, batch.seqLen, 16]);
    tape.release();
  });
});
