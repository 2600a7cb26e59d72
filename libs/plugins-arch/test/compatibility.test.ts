import { describe, expect, it } from 'vitest';
import { SpecError, checkPositionalEncoding } from '@unilab/core';
import { architecturePlugins, positionalEncodingPlugins } from '../src/index.ts';
import { buildModel } from './models.ts';
import { createReferenceBackend } from '@unilab/core';

const plugin = (architecture: string) => architecturePlugins.find((a) => a.name === architecture)!;
const check = (architecture: string, name: string, config: Record<string, unknown> = {}, seqLen = 128) =>
  checkPositionalEncoding(
    { name, config },
    { architecture, seqLen, attention: plugin(architecture).attention, positionDims: plugin(architecture).consumes.positionDims },
    positionalEncodingPlugins,
    'spec.model.config.positionalEncoding',
  );
const serves = (architecture: string, name: string) => {
  try {
    check(architecture, name);
    return true;
  } catch {
    return false;
  }
};

describe('architecture × positional-encoding compatibility, derived from what each declares', () => {
  it('is the documented matrix', () => {
    const matrix = Object.fromEntries(
      positionalEncodingPlugins.map((pe) => [pe.name, architecturePlugins.map((a) => (serves(a.name, pe.name) ? a.name : '-')).join(' ')]),
    );
    expect(matrix).toEqual({
      rope: 'decoder prefix-lm unilm - encoder encoder-decoder',
      'learned-absolute': 'decoder prefix-lm unilm - encoder encoder-decoder',
      sinusoidal: 'decoder prefix-lm unilm - encoder encoder-decoder',
      alibi: 'decoder prefix-lm unilm - encoder encoder-decoder',
      't5-relative': 'decoder prefix-lm unilm - encoder encoder-decoder',
      'glm-2d': '- - - glm - -',
      'rope-2d': '- - - glm - -',
      none: 'decoder - - - - -',
    });
  });

  it('refuses a 2D encoding on a 1D architecture, saying why and what would work', () => {
    expect(() => check('decoder', 'rope-2d')).toThrow(SpecError);
    expect(() => check('decoder', 'rope-2d')).toThrow(
      'spec.model.config.positionalEncoding.name: positional encoding "rope-2d" cannot serve architecture "decoder": it encodes two position dimensions ' +
        "(batch.positions, and batch.blockPositions ordering GLM's spans, Du et al. 2022 §2.3) and the model reads one position dimension (batch.positions). " +
        'With decoder use rope, learned-absolute, sinusoidal, alibi, t5-relative, none',
    );
  });

  it('refuses a 1D encoding for GLM: Part B tokens share a position', () => {
    expect(() => check('glm', 'rope')).toThrow(/cannot serve architecture "glm": it encodes one position dimension .* and the model reads two .*Du et al. 2022 §2.3.*With glm use glm-2d, rope-2d$/);
  });

  it('refuses no encoding for bidirectional attention', () => {
    expect(() => check('encoder', 'none')).toThrow(
      /"none" cannot serve architecture "encoder": it serves causal attention and the model's is bidirectional \(without positions only a causal mask reveals order.*With encoder use rope, learned-absolute/,
    );
    expect(() => check('encoder-decoder', 'none')).toThrow(/permutation-invariant/);
  });

  it('refuses a position table shorter than the sequences, and an unknown encoding', () => {
    expect(() => check('decoder', 'learned-absolute', { maxPositions: 64 }, 128)).toThrow(
      'spec.model.config.positionalEncoding.config: maxPositions (64) must be at least train.seqLen (128): each position needs a row',
    );
    expect(() => check('decoder', 'xpos')).toThrow('unknown positional encoding "xpos"; available: rope, learned-absolute');
    expect(() => check('decoder', 'rope', { base: 0.5 })).toThrow('spec.model.config.positionalEncoding.config.base: expected a number > 1, got 0.5');
  });

  it('also refuses an incompatible pair when a model is built directly', () => {
    expect(() => buildModel('encoder', createReferenceBackend(), 10, { layers: 1, dModel: 8, heads: 2, positionalEncoding: 'none' })).toThrow(
      /"none" cannot serve architecture "encoder"/,
    );
  });

  it('accepts the old ropeBase shorthand, and refuses it beside an explicit encoding', async () => {
    const decoder = architecturePlugins[0];
    expect(decoder.configSchema.parse({ ropeBase: 500000 }, 'm').positionalEncoding).toEqual({ name: 'rope', config: { base: 500000 } });
    expect(() => decoder.configSchema.parse({ ropeBase: 500000, positionalEncoding: 'alibi' }, 'm')).toThrow(/m.ropeBase: give the base in positionalEncoding.config.base/);
  });
});
