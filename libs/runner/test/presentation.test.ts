import { ByteTokenizer } from '@unilab/data';
import { describe, expect, it } from 'vitest';
import { clm } from '@unilab/plugins-objective';
import { PluginRegistry } from '@unilab/core';
import { architecturePlugins, positionalEncodingPlugins } from '@unilab/plugins-arch';
import { createDefaultRegistry, describeLayout, modelPresentation, objectiveSpecialTokens, type ObjectiveSpec } from '../src/index.ts';

// Which layout a model gets per task comes from its objectives' declarations, never from a list of their names.
const registry = createDefaultRegistry();
const presentationOf = (architecture: string, objective: ObjectiveSpec) =>
  modelPresentation(architecture, objective, registry, new ByteTokenizer(objectiveSpecialTokens([objective], registry)));

describe('a model\'s inference presentation', () => {
  it('takes each task from the mixture component that trained it best: LM causal, seq2seq bidirectional, infilling with sentinels', () => {
    const p = presentationOf('decoder', { mixture: [{ name: 'clm', config: {}, weight: 3 }, { name: 'span-corruption', config: {}, weight: 1 }] });
    expect(p.lm && describeLayout(p.lm)).toBe('causal: input target, left to right (clm)');
    expect(p.seq2seq && describeLayout(p.seq2seq)).toBe('prefix: input <extra_id_0> <eos> read causally → <extra_id_0> target (span-corruption)');
    expect(p.infilling?.objective).toBe('span-corruption');
  });

  it('follows the objective, not the architecture: a prefix-LM network trained causally reads prompts causally', () => {
    const p = presentationOf('prefix-lm', { name: 'clm', config: {} });
    expect(p.lm?.layout).toEqual({ kind: 'causal' });
    expect(p.infilling).toBeNull();
  });

  it('reads UL2 mixtures by the denoisers they have: no S-denoiser, so a trailing X span behind [NLG]', () => {
    const denoisers = [
      { paradigm: 'R', meanSpanLength: 3, noiseDensity: 0.15, rate: 1 },
      { paradigm: 'X', meanSpanLength: 64, noiseDensity: 0.5, rate: 1 },
    ];
    const p = presentationOf('encoder-decoder', { name: 'ul2', config: { denoisers } });
    expect(p.lm && describeLayout(p.lm)).toBe('encoder: <NLG> input <extra_id_0> <eos> → decoder <pad> <extra_id_0> target (ul2)');
    expect(p.infilling?.layout).toEqual({ kind: 'sentinels', inputPrefix: ['NLU'] });
    const withoutTokens = presentationOf('encoder-decoder', { name: 'ul2', config: { denoisers, modeTokens: false } });
    expect(withoutTokens.lm?.layout).toMatchObject({ inputPrefix: [] });
    expect(withoutTokens.modes).toBeNull();
  });

  it('refuses a tokenizer without a token the layout needs, and leaves tasks of an undeclaring plugin empty', () => {
    expect(() => modelPresentation('decoder', { name: 'ul2', config: {} }, registry, new ByteTokenizer([]))).toThrow(
      'the ul2 objective reads prompts with the special token "S2S", which this model\'s tokenizer lacks (it has eos, pad)',
    );
    const older = { ...clm, name: 'clm-before-layouts', inference: undefined };
    const bare = new PluginRegistry([...architecturePlugins, ...positionalEncodingPlugins, older]);
    const p = modelPresentation('decoder', { name: 'clm-before-layouts', config: {} }, bare, new ByteTokenizer([]));
    expect([p.lm, p.seq2seq, p.infilling]).toEqual([null, null, null]);
  });
});
