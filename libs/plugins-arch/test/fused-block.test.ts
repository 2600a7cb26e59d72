import { afterAll, describe, expect, it } from 'vitest';
import { AdamW, Trainer, createWasmBackend, disposeParameters, type Backend, type Batch, type Batcher, type WasmBackend } from '@unilab/core';
import { packBatch, type ExampleLayout } from './batches.ts';
import { buildModel, rawConfig } from './models.ts';

// A pre-norm block runs its projections into the residual stream with the add in the matmul's epilogue
// (projected.ts → ops.linearResidual) and SwiGLU's gate and up projections as one op (ops.swigluProjection). Those
// change no bit: training with them and with a backend that lacks them (the ops then compose matmul, add and swiglu
// as before) gives the same losses and the same weights. The encoder-decoder covers cross-attention's sublayer; GELU
// and LoRA-free post-norm blocks keep the unfused path.
const VOCAB = 40;
const SEQ = 24;
const causal = (length: number): ExampleLayout => ({ length, mode: { kind: 'causal' } });
const batches: Record<string, Batch> = {
  decoder: packBatch([[causal(13), causal(11)], [causal(24)]], SEQ, VOCAB, 1).batch,
  'encoder-decoder': packBatch([[{ ...causal(10), encoderLength: 14 }, { ...causal(14), encoderLength: 10 }], [{ ...causal(24), encoderLength: 24 }]], SEQ, VOCAB, 2, SEQ).batch,
};
const fixed = (batch: Batch): Batcher => ({ next: () => batch, state: () => null, restore: () => {} });

function withoutFusion(be: Backend): Backend {
  return new Proxy(be, { get: (t, k, r) => (k === 'matmulAdd' || k === 'swigluProjection' ? undefined : Reflect.get(t, k, r)) });
}

async function train(backend: Backend, name: string, config: Record<string, unknown>) {
  const model = buildModel(name, backend, VOCAB, rawConfig(name, 2, { dModel: 32, heads: 4, ...config }));
  const optimizer = new AdamW(backend, model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clipNorm: 1 });
  const schedule = { kind: 'constant' as const, maxLr: 1e-2, minLr: 1e-2, warmupSteps: 0, totalSteps: 3, decayFraction: 0 };
  const trainer = new Trainer(backend, model, optimizer, fixed(batches[name]), schedule);
  const losses: number[] = [];
  for (let s = 0; s < 3; s++) losses.push((await trainer.trainStep()).loss);
  const weights = await Promise.all(model.params.map(async (p) => Array.from(await backend.read(p.value))));
  optimizer.dispose();
  disposeParameters(backend, model.params);
  return { losses, weights };
}

let wasm: WasmBackend | undefined;
afterAll(() => wasm?.close());

describe('fused projections in the transformer block', () => {
  it.each([
    ['decoder', {}],
    ['encoder-decoder', {}],
    ['decoder', { activation: 'gelu' }],
    ['decoder', { normPlacement: 'post' }],
  ] as const)('%s %j trains to the same bits with and without the fused kernels', async (name, config) => {
    wasm ??= await createWasmBackend(undefined, { threads: 2 });
    const fused = await train(wasm, name, config);
    const unfused = await train(withoutFusion(wasm), name, config);
    expect(fused.losses).toEqual(unfused.losses);
    expect(fused.weights).toEqual(unfused.weights);
    expect(fused.losses[2]).toBeLessThan(fused.losses[0]);
  });
});
