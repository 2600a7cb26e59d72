import { describe, expect, it } from 'vitest';
import { AdamW, Rng, Trainer, createWasmBackend, loadWasmKernels } from '@unilab/core';
import { createDocumentStream, readSotu, ByteTokenizer } from '@unilab/data';
import { clm } from '@unilab/plugins-objective';
import { decoder } from '@unilab/plugins-arch';

describe('memory is reclaimed every step', () => {
  it('10,000 training steps on the WASM backend do not grow memory', async () => {
    const kernels = await loadWasmKernels();
    const backend = await createWasmBackend(kernels);
    const tokenizer = new ByteTokenizer();
    const docs = (await readSotu()).slice(0, 3).map((d) => tokenizer.encode(d.text));
    const config = decoder.configSchema.parse({ layers: 1, dModel: 8, heads: 2 }, 'model');
    const model = decoder.create(config, { backend, vocabSize: tokenizer.vocabSize, rng: new Rng(1) });
    const optimizer = new AdamW(backend, model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clipNorm: 1 });
    const context = { batchSize: 2, seqLen: 8, vocabSize: tokenizer.vocabSize, specialTokens: tokenizer.specialTokens, form: 'single-stack' as const };
    const batcher = clm.createBatcher({}, context, createDocumentStream(docs, 1), new Rng(1));
    const schedule = { kind: 'constant' as const, maxLr: 1e-3, minLr: 1e-3, warmupSteps: 0, totalSteps: 10_000, decayFraction: 0 };
    const trainer = new Trainer(backend, model, optimizer, batcher, schedule);

    for (let i = 0; i < 10; i++) await trainer.trainStep();
    const settled = { stats: backend.memoryStats(), wasmBytes: kernels.memory.buffer.byteLength };
    for (let i = 10; i < 10_000; i++) await trainer.trainStep();
    expect(backend.memoryStats()).toEqual(settled.stats);
    expect(kernels.memory.buffer.byteLength).toBe(settled.wasmBytes);
    // Only parameters, their gradients and the two AdamW moments stay alive between steps.
    expect(settled.stats.liveTensors).toBe(model.params.length * 4);
  });
});
