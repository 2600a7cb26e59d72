import { describe, expect, it } from 'vitest';
import type { Batch } from '@unilab/core';
import { createDocumentStream } from '@unilab/data';
import { createDefaultRegistry, createObjectiveBatcher, runTraining, tokenizerFor, validateSpecPlugins } from '../src/index.ts';
import { sotuSubset, tempDir, tinySpec } from './fixtures.ts';
import { registryWithPackage } from './package-architectures.ts';

// Pairings come from what plugins declare (core/plugins/capabilities.ts), never from lists of names. A plugin package
// (fixtures/plugin-xpos-example: the xPos encoding and a fill-in-the-middle objective) and an architecture from
// another package (package-architectures.ts) pair with each other and with the built-ins without any of them naming
// another.

describe('pairings derived from declarations', () => {
  it('objective × architecture for the built-ins', () => {
    const registry = createDefaultRegistry();
    const matrix = Object.fromEntries(registry.ofKind('objective').map((o) => [o.name, registry.pairedArchitectures(o).join(' ')]));
    expect(matrix).toEqual({
      clm: 'decoder prefix-lm unilm glm',
      prefixlm: 'decoder prefix-lm unilm glm encoder-decoder',
      'span-corruption': 'decoder prefix-lm unilm glm encoder-decoder',
      sclm: 'decoder prefix-lm unilm glm encoder-decoder',
      unilm: 'prefix-lm unilm glm encoder-decoder',
      ul2: 'decoder prefix-lm unilm glm encoder-decoder',
      glm: 'glm',
      'bert-mlm': 'prefix-lm unilm glm encoder',
    });
  });

  it('a package encoding and objective pair with a package architecture and the built-ins, both ways', async () => {
    const registry = await registryWithPackage();
    expect(registry.pairedArchitectures(registry.positionalEncoding('xpos'))).toEqual(['decoder', 'prefix-lm', 'unilm', 'encoder', 'encoder-decoder', 'my-decoder']);
    expect(registry.pairedArchitectures(registry.objective('fim'))).toEqual(['decoder', 'prefix-lm', 'unilm', 'glm', 'my-decoder']);
    expect(registry.pairedArchitectures(registry.objective('clm'))).toContain('my-decoder');
    expect(registry.pairedArchitectures(registry.positionalEncoding('rope'))).toContain('my-decoder');
    expect(registry.pairedArchitectures(registry.positionalEncoding('none'))).toEqual(['decoder', 'my-decoder']);
  });

  it('refuses what cannot work, saying why from the declarations', async () => {
    const registry = await registryWithPackage();
    const spec = (architecture: string, positionalEncoding: string, objective: string) => ({
      ...tinySpec('/unused'),
      model: { architecture, config: { positionalEncoding } },
      objective: { name: objective, config: {} },
    });
    expect(() => validateSpecPlugins(spec('encoder-decoder', 'rope', 'fim'), registry)).toThrow(
      'spec.objective.name: objective "fim" cannot train architecture "encoder-decoder": it makes single-stack batches and the model reads encoder-decoder batches; it trains decoder, prefix-lm, unilm, glm, my-decoder',
    );
    expect(() => validateSpecPlugins(spec('glm', 'xpos', 'fim'), registry)).toThrow(/positional encoding "xpos" cannot serve architecture "glm": it encodes one position dimension/);
    expect(() => validateSpecPlugins(spec('my-decoder', 'xpos', 'glm'), registry)).toThrow(/objective "glm" cannot train architecture "my-decoder": its examples carry two position dimensions/);
  });

  it('fim makes causal PSM rows whose middle, moved to the end, restores the piece', async () => {
    const registry = await registryWithPackage();
    const spec = { ...tinySpec('/unused'), objective: { name: 'fim', config: { rate: 1 } } };
    const tokenizer = tokenizerFor(spec, registry);
    const text = 'Fellow citizens of the Senate and of the House of Representatives.';
    const context = { batchSize: 3, seqLen: 96, vocabSize: tokenizer.vocabSize, specialTokens: tokenizer.specialTokens, form: 'single-stack' as const };
    const batch: Batch = createObjectiveBatcher(spec.objective, registry, context, createDocumentStream([tokenizer.encode(text)], 1), 7).next();
    const ids = tokenizer.specialTokens;
    for (let r = 0; r < batch.batchSize; r++) {
      const row = Array.from(batch.tokens.subarray(r * batch.seqLen, (r + 1) * batch.seqLen));
      const [p, s, m] = [row.indexOf(ids.fim_prefix), row.indexOf(ids.fim_suffix), row.indexOf(ids.fim_middle)];
      expect([p, p < s, s < m]).toEqual([0, true, true]);
      // The last input is the middle's last token; its target is eos, and padding follows.
      const end = Array.from(batch.lossMask.subarray(r * batch.seqLen, (r + 1) * batch.seqLen)).indexOf(0);
      const restored = [...row.slice(p + 1, s), ...row.slice(m + 1, end), ...row.slice(s + 1, m)];
      expect(tokenizer.decode(restored)).toBe(text);
      // Causal rows: the targets are the next tokens.
      expect(Array.from(batch.targets.subarray(r * batch.seqLen, r * batch.seqLen + end))).toEqual([...row.slice(1, end), ids.eos]);
      expect(Array.from(batch.prefixEnd.subarray(r * batch.seqLen, (r + 1) * batch.seqLen)).every((x) => x === 0)).toBe(true);
    }
  });

  it('trains the package architecture with the package encoding and objective on real text', async () => {
    const registry = await registryWithPackage();
    const base = tinySpec(await sotuSubset(3), { train: { steps: 8, lr: 1e-2 } });
    const spec = { ...base, model: { architecture: 'my-decoder', config: { ...base.model.config, positionalEncoding: { name: 'xpos', config: { maxPositions: 64 } } } }, objective: { name: 'fim', config: {} } };
    const result = await runTraining({ spec, outDir: await tempDir(), registry });
    expect(result.step).toBe(8);
    // Learning, not chance: an untrained model's loss is about ln V (every next token equally likely).
    expect(result.heldOutLoss).toBeLessThan(Math.log(tokenizerFor(spec, registry).vocabSize) - 1);
  });
});
