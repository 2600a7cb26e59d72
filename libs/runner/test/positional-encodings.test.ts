import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpecError } from '@unilab/core';
import { createConfiguredRegistry, createDefaultRegistry, parseTrainingSpec, readPluginConfig, validateSpecPlugins } from '../src/index.ts';
import { tempDir } from './fixtures.ts';

const spec = (architecture: string, positionalEncoding: unknown, objective = 'clm', seqLen = 64) =>
  parseTrainingSpec({ model: { architecture, config: { positionalEncoding } }, objective: { name: objective }, train: { seqLen } });

describe('spec validation of architecture × positional encoding', () => {
  const registry = createDefaultRegistry();

  it('accepts the pairs that work', () => {
    for (const [arch, pe, objective] of [['decoder', 'alibi', 'clm'], ['glm', 'glm-2d', 'glm'], ['encoder-decoder', 't5-relative', 'span-corruption'], ['encoder', 'sinusoidal', 'bert-mlm']])
      expect(() => validateSpecPlugins(spec(arch, pe, objective), registry)).not.toThrow();
  });

  it('refuses a pair that cannot work, saying why and what would', () => {
    const run = () => validateSpecPlugins(spec('glm', 'alibi', 'glm'), registry);
    expect(run).toThrow(SpecError);
    expect(run).toThrow(
      'spec.model.config.positionalEncoding.name: positional encoding "alibi" cannot serve architecture "glm": it encodes one position dimension (batch.positions) ' +
        "and the model reads two position dimensions (batch.positions, and batch.blockPositions ordering GLM's spans, Du et al. 2022 §2.3). With glm use glm-2d, rope-2d",
    );
    expect(() => validateSpecPlugins(spec('prefix-lm', 'none', 'prefixlm'), registry)).toThrow(/"none" cannot serve architecture "prefix-lm".*With prefix-lm use rope/);
  });

  it('pairs by declared attention: no positions only under a causal mask, whatever the objective marks bidirectional', () => {
    // The causal decoder reads a seq2seq objective's inputs left to right (T5's "Language model"), so NoPE and causal
    // T5 buckets stay sound there; a stack that reads a prefix both ways refuses NoPE (Haviv et al. 2022).
    for (const objective of ['prefixlm', 'span-corruption', 'ul2']) {
      expect(() => validateSpecPlugins(spec('decoder', 'none', objective), registry)).not.toThrow();
      expect(() => validateSpecPlugins(spec('decoder', 't5-relative', objective), registry)).not.toThrow();
    }
    for (const arch of ['prefix-lm', 'unilm', 'encoder-decoder'])
      expect(() => validateSpecPlugins(spec(arch, 'none', 'prefixlm'), registry)).toThrow(
        new RegExp(`"none" cannot serve architecture "${arch}": it serves causal attention and the model's is (mixed|bidirectional)`),
      );
  });

  it("refuses UniLM's cloze objective on the causal decoder (its bidirectional mode would see only the left)", () => {
    expect(() => validateSpecPlugins(spec('decoder', 'rope', 'unilm'), registry)).toThrow(/unilm.*decoder|decoder.*unilm/);
    expect(() => validateSpecPlugins(spec('prefix-lm', 'rope', 'unilm'), registry)).not.toThrow();
  });

  it("checks the encoding's own config against the run", () => {
    expect(() => validateSpecPlugins(spec('decoder', { name: 'learned-absolute', config: { maxPositions: 32 } }, 'clm', 64), registry)).toThrow(
      'spec.model.config.positionalEncoding.config: maxPositions (32) must be at least train.seqLen (64): each position needs a row',
    );
    expect(() => validateSpecPlugins(spec('decoder', { name: 't5-relative', config: { buckets: 8 } }), registry)).toThrow(
      'spec.model.config.positionalEncoding.config.buckets: unknown field; allowed fields are numBuckets, maxDistance',
    );
  });
});

describe('plugin configuration', () => {
  it('loads a local plugin module listed by a relative path, and refuses what is not a plugin', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'flat.js'),
      `export default { kind: 'positional-encoding', name: 'flat', description: 'no positions', positionDims: 1,
         configSchema: { describe: 'an object', parse: (v) => v }, create: () => ({ params: [] }) };`,
    );
    await writeFile(join(dir, 'unilab.config.json'), JSON.stringify({ plugins: ['./flat.js'] }));
    const registry = await createConfiguredRegistry(join(dir, 'unilab.config.json'));
    expect(registry.positionalEncoding('flat').description).toBe('no positions');
    expect(() => validateSpecPlugins(spec('decoder', 'flat'), registry)).not.toThrow();

    await writeFile(join(dir, 'junk.js'), 'export const plugins = [{ name: "junk" }];');
    await writeFile(join(dir, 'junk.config.json'), JSON.stringify({ plugins: ['./junk.js'] }));
    await expect(createConfiguredRegistry(join(dir, 'junk.config.json'))).rejects.toThrow(
      'plugin module "./junk.js" exports something that is not a unilab plugin',
    );
    await writeFile(join(dir, 'bad.config.json'), JSON.stringify({ plugin: ['./flat.js'] }));
    await expect(readPluginConfig(join(dir, 'bad.config.json'))).rejects.toThrow('expected { "plugins": ["<package or ./path>", ...] }');
  });
});
