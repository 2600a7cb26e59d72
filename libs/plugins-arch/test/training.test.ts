import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW, Trainer, createWasmBackend, disposeParameters, encodingMismatch, type Backend, type Batch, type Batcher } from '@unilab/core';
import { positionalEncodingPlugins } from '../src/index.ts';
import { glmExample, packBatch, type ExampleLayout } from './batches.ts';
import { architecture, buildModel, rawConfig } from './models.ts';

// Every architecture with every positional encoding that can serve it learns: the loss on one fixed packed batch falls
// over a few AdamW steps on the WASM backend. Tiny models (1 layer, d 16) keep the whole matrix fast.
const VOCAB = 24;
const SEQ = 16;

const causal = (length: number): ExampleLayout => ({ length, mode: { kind: 'causal' } });
const batches: Record<string, Batch> = {
  decoder: packBatch([[causal(9), causal(7)], [causal(16)]], SEQ, VOCAB, 1).batch,
  'prefix-lm': packBatch([[{ length: 10, mode: { kind: 'prefix', prefix: 4 } }, { length: 6, mode: { kind: 'prefix', prefix: 2 } }], [{ length: 16, mode: { kind: 'prefix', prefix: 7 } }]], SEQ, VOCAB, 2).batch,
  unilm: packBatch([[{ length: 6, mode: { kind: 'bidirectional' } }, { length: 10, mode: { kind: 'prefix', prefix: 4 } }], [causal(8), causal(8)]], SEQ, VOCAB, 3).batch,
  glm: packBatch([[glmExample(5, [1, 3], [2, 1]), glmExample(3, [1], [1])], [glmExample(8, [2, 6], [3, 1])]], SEQ, VOCAB, 4).batch,
  encoder: packBatch([[{ length: 9, mode: { kind: 'bidirectional' } }, { length: 7, mode: { kind: 'bidirectional' } }], [{ length: 16, mode: { kind: 'bidirectional' } }]], SEQ, VOCAB, 5).batch,
  'encoder-decoder': packBatch([[{ ...causal(7), encoderLength: 9 }, { ...causal(9), encoderLength: 7 }], [{ ...causal(16), encoderLength: 16 }]], SEQ, VOCAB, 6, SEQ).batch,
};

const fixed = (batch: Batch): Batcher => ({ next: () => batch, state: () => null, restore: () => {} });

async function lossesOf(backend: Backend, name: string, config: Record<string, unknown>, steps = 6): Promise<number[]> {
  const model = buildModel(name, backend, VOCAB, rawConfig(name, 1, { dModel: 16, heads: 2, ...config }));
  const optimizer = new AdamW(backend, model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, clipNorm: 1 });
  const schedule = { kind: 'constant' as const, maxLr: 1e-2, minLr: 1e-2, warmupSteps: 0, totalSteps: steps, decayFraction: 0 };
  const trainer = new Trainer(backend, model, optimizer, fixed(batches[name]), schedule);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push((await trainer.trainStep()).loss);
  optimizer.dispose();
  disposeParameters(backend, model.params);
  return losses;
}

// A pair is sensible when the encoding serves the architecture's position dimensions and attention (none: causal only).
const pairs = Object.keys(batches).flatMap((arch) =>
  positionalEncodingPlugins
    .filter((pe) => encodingMismatch(pe, { positionDims: architecture(arch).consumes.positionDims, attention: architecture(arch).attention }) === null)
    .map((pe) => [arch, pe.name] as const),
);

let backend: Backend;
beforeAll(async () => {
  backend = await createWasmBackend();
});

describe('every sensible architecture × positional-encoding pair trains on the WASM backend', () => {
  it('covers the whole compatibility matrix', () => {
    // Five 1D encodings for the five 1D architectures, two 2D ones for glm, and none for the causal decoder.
    expect(pairs.length).toBe(5 * 5 + 2 + 1);
  });

  it.each(pairs)('%s with %s', async (arch, encoding) => {
    const losses = await lossesOf(backend, arch, { positionalEncoding: { name: encoding, config: encoding.includes('absolute') || encoding === 'sinusoidal' || encoding === 'glm-2d' ? { maxPositions: SEQ } : {} } });
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1], losses.map((l) => l.toFixed(3)).join(' → ')).toBeLessThan(losses[0] - 0.1);
  });
});

describe('block options train too', () => {
  const options: [string, string, Record<string, unknown>][] = [
    ['decoder', 'post-norm LayerNorm, GELU, tied embeddings', { norm: 'layernorm', normPlacement: 'post', activation: 'gelu', tieEmbeddings: true }],
    ['decoder', 'ReLU, multi-query attention, dropout 0.1', { activation: 'relu', kvHeads: 1, dropout: 0.1 }],
    ['encoder-decoder', 'separate embeddings, tied head, grouped-query attention', { shareEmbeddings: false, tieEmbeddings: true, heads: 4, kvHeads: 2 }],
    ['encoder', "BERT's choices: post-LayerNorm, GELU, learned positions, tied", { norm: 'layernorm', normPlacement: 'post', activation: 'gelu', tieEmbeddings: true, positionalEncoding: { name: 'learned-absolute', config: { maxPositions: SEQ } } }],
  ];
  it.each(options)('%s: %s', async (arch, _, config) => {
    const losses = await lossesOf(backend, arch, config);
    expect(losses[losses.length - 1], losses.map((l) => l.toFixed(3)).join(' → ')).toBeLessThan(losses[0] - 0.1);
  });
});
