import { describe, expect, it } from 'vitest';
import { Rng, type BatchForm } from '@unilab/core';
import { objectivePlugins, ul2 } from '../src/index.ts';
import type { PackingBatcher } from '../src/packing.ts';
import { expectBatchContract } from './helpers/batch-contract.ts';
import { byteContext } from '../src/byte-token-view.ts';
import { arrayStream, sotuDocuments, utf8Tokens } from './helpers/real-text.ts';
import { expectResumesExactly, segmentsOf } from './helpers/segments.ts';

const documents = sotuDocuments(2);

function contextFor(plugin: (typeof objectivePlugins)[number], form: BatchForm, seqLen = 96) {
  return byteContext(plugin.specialTokens, { batchSize: 4, seqLen, encoderLen: seqLen, form });
}

describe('objective plugins', () => {
  it('are plain objects with unique names, a schema that fills defaults, and declared batches', () => {
    expect(new Set(objectivePlugins.map((p) => p.name)).size).toBe(objectivePlugins.length);
    expect(objectivePlugins.map((p) => p.name)).toEqual(['clm', 'prefixlm', 'span-corruption', 'sclm', 'unilm', 'ul2', 'glm', 'bert-mlm']);
    for (const plugin of objectivePlugins) {
      expect(plugin.kind).toBe('objective');
      expect(plugin.produces.forms.length).toBeGreaterThan(0);
      expect(plugin.produces.masks.length).toBeGreaterThan(0);
      expect(() => plugin.configSchema.parse({}, 'objective')).not.toThrow();
      expect(() => plugin.configSchema.parse({ noSuchSetting: 1 }, 'objective')).toThrow(/noSuchSetting/);
    }
  });

  for (const plugin of objectivePlugins)
    for (const form of plugin.produces.forms)
      it(`${plugin.name}, ${form} batches: obey the contract and resume exactly`, () => {
        const context = contextFor(plugin, form);
        const make = () => plugin.createBatcher(plugin.configSchema.parse({}, 'objective'), context, arrayStream(documents), new Rng(11));
        const b = make();
        for (let i = 0; i < 5; i++) expectBatchContract(b.next(), context.specialTokens.pad, context.vocabSize);
        expectResumesExactly(make, 2, 2);
      });

  it('refuses a batch form the objective does not make', () => {
    const singleOnly = objectivePlugins.filter((p) => !p.produces.forms.includes('encoder-decoder'));
    expect(singleOnly.map((p) => p.name)).toEqual(['clm', 'glm', 'bert-mlm']);
    for (const plugin of singleOnly)
      expect(() =>
        plugin.createBatcher(plugin.configSchema.parse({}, 'objective'), contextFor(plugin, 'encoder-decoder'), arrayStream(documents), new Rng(1)),
      ).toThrow(`${plugin.name}: makes single-stack batches, not encoder-decoder`);
  });

  it('handles documents shorter than an objective needs by the documented rule: skip and count, never loop', () => {
    const tiny = ['I', 'Go', 'Yes', '', 'No.'].map(utf8Tokens);
    for (const plugin of objectivePlugins) {
      const context = contextFor(plugin, plugin.produces.forms[0], 32);
      const b = plugin.createBatcher(plugin.configSchema.parse({}, 'objective'), context, arrayStream(tiny), new Rng(3)) as PackingBatcher;
      for (let i = 0; i < 3; i++) expectBatchContract(b.next(), context.specialTokens.pad, context.vocabSize);
      expect(b.counts().skippedEmptyDocuments).toBeGreaterThan(0);
    }
    // A 3-token document under the μ = 64 X-denoiser still gets one span of one token.
    const x64 = ul2.configSchema.parse({ denoisers: [{ paradigm: 'X', meanSpanLength: 64, noiseDensity: 0.15, rate: 1 }] }, 'objective');
    const context = contextFor(ul2, 'encoder-decoder', 32);
    const batch = ul2.createBatcher(x64, context, arrayStream([utf8Tokens('Yes')]), new Rng(1)).next();
    const [first] = segmentsOf(batch);
    expect(first.encoderTokens.length).toBe(1 + 2 + 1 + 1);
    expect(first.targets.length).toBe(1 + 1 + 1);
  });
});
