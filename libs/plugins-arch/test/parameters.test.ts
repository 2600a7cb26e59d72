import { describe, expect, it } from 'vitest';
import { createReferenceBackend, disposeParameters, parameterCount } from '@unilab/core';
import { parameterBreakdown } from '../src/index.ts';
import { architecture, buildModel } from './models.ts';

// Parameter counts of built models against closed-form formulas worked out by hand (the arithmetic is in each case),
// and the describe formulas against both.
const backend = createReferenceBackend();

const cases: { name: string; architecture: string; vocab: number; config: Record<string, unknown>; total: number; formula: string }[] = [
  {
    name: 'the bench decoder (LLaMA defaults)',
    architecture: 'decoder',
    vocab: 8192,
    config: { layers: 4, dModel: 256, heads: 4, ffnHidden: 688 },
    total: 7_358_720,
    formula: 'tok 8192·256 + output 256·8192 + 4 · (norms 2·256 + attention 4·256² + SwiGLU 3·256·688) + final norm 256',
  },
  {
    name: 'a BERT-style encoder: post-norm LayerNorm, GELU, MQA, tied, learned positions',
    architecture: 'encoder',
    vocab: 50,
    config: { layers: 2, dModel: 32, heads: 4, kvHeads: 1, norm: 'layernorm', normPlacement: 'post', activation: 'gelu', tieEmbeddings: true, positionalEncoding: { name: 'learned-absolute', config: { maxPositions: 64 } } },
    total: 25_408,
    formula: 'tok 50·32 + positions 64·32 + 2 · (LayerNorms 2·2·32 + attention 2·32² + 2·32·8 + GELU 2·32·128), no final norm, tied head',
  },
  {
    name: 'an encoder-decoder with T5 relative bias, shared embeddings, 2 + 1 layers',
    architecture: 'encoder-decoder',
    vocab: 40,
    config: { encoderLayers: 2, decoderLayers: 1, dModel: 16, heads: 2, positionalEncoding: 't5-relative' },
    total: 12_560,
    formula:
      'tok 40·16 + output 16·40 + encoder 2 · (16 + 4·16² + 16 + 3·16·48) + 16 + 32·2 buckets + decoder (3360 + cross 16 + 4·16²) + 16 + 32·2',
  },
  {
    name: 'an encoder-decoder with separate embeddings, tied head, ReLU',
    architecture: 'encoder-decoder',
    vocab: 40,
    config: { encoderLayers: 1, decoderLayers: 1, dModel: 16, heads: 2, activation: 'relu', shareEmbeddings: false, tieEmbeddings: true },
    total: 8_560,
    formula: 'two tables 2·40·16 + encoder (16 + 4·16² + 16 + 2·16·64) + 16 + decoder (3104 + 16 + 4·16²) + 16',
  },
  {
    name: 'GLM with its two learned position tables and grouped-query attention',
    architecture: 'glm',
    vocab: 40,
    config: { layers: 1, dModel: 16, heads: 4, kvHeads: 2, positionalEncoding: { name: 'glm-2d', config: { maxPositions: 32 } } },
    total: 5_424,
    formula: 'tok 40·16 + tables 2·32·16 + output 16·40 + (16 + 2·16² + 2·16·8 + 16 + 3·16·48) + 16',
  },
];

describe('parameter counts equal their closed-form formulas', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const model = buildModel(c.architecture, backend, c.vocab, c.config);
    expect(parameterCount(model.params), c.formula).toBe(c.total);
    const config = architecture(c.architecture).configSchema.parse(c.config, 'model');
    expect(parameterBreakdown(c.architecture, config, { vocabSize: c.vocab, seqLen: 16, batchSize: 1 }).total).toBe(c.total);
    disposeParameters(backend, model.params);
  });

  it('splits the bench decoder into embedding, output head and non-embedding parameters', () => {
    const config = architecture('decoder').configSchema.parse(cases[0].config, 'model');
    expect(parameterBreakdown('decoder', config, { vocabSize: 8192, seqLen: 128, batchSize: 16 })).toEqual({
      embedding: 2_097_152,
      outputHead: 2_097_152,
      nonEmbedding: 3_164_416,
      total: 7_358_720,
    });
  });

  it('keeps the decoder parameter names of existing checkpoints', () => {
    const model = buildModel('decoder', backend, 11, { layers: 1, dModel: 8, heads: 2 });
    expect(model.params.map((p) => p.name)).toEqual([
      'tok_embeddings',
      'layers.0.attn_norm',
      'layers.0.wq',
      'layers.0.wk',
      'layers.0.wv',
      'layers.0.wo',
      'layers.0.ffn_norm',
      'layers.0.w_gate',
      'layers.0.w_up',
      'layers.0.w_down',
      'norm',
      'output',
    ]);
  });
});
