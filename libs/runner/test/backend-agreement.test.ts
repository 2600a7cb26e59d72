import { describe, expect, it } from 'vitest';
import { Rng, Tape, createReferenceBackend, createWasmBackend, ops, uploadBatch, type Backend } from '@unilab/core';
import { ByteTokenizer, createDocumentStream, readSotu } from '@unilab/data';
import { decoder } from '@unilab/plugins-arch';
import { clm } from '@unilab/plugins-objective';

/** Loss and every parameter gradient of one forward/backward of the same decoder on the same real batch. */
async function lossAndGrads(backend: Backend) {
  const tokenizer = new ByteTokenizer();
  const docs = (await readSotu()).slice(10, 14).map((d) => tokenizer.encode(d.text));
  const context = { batchSize: 3, seqLen: 37, vocabSize: tokenizer.vocabSize, specialTokens: tokenizer.specialTokens, form: 'single-stack' as const };
  const batch = clm.createBatcher({}, context, createDocumentStream(docs, 3), new Rng(3)).next();
  const config = decoder.configSchema.parse({ layers: 2, dModel: 48, heads: 4, kvHeads: 2, ffnHidden: 67 }, 'model');
  const model = decoder.create(config, { backend, vocabSize: tokenizer.vocabSize, rng: new Rng(9) });
  const tape = new Tape(backend);
  const inputs = uploadBatch(tape, batch);
  const loss = ops.crossEntropy(tape, model.forward(tape, inputs), inputs.targets, inputs.lossMask);
  tape.backward(loss);
  const value = (await backend.read(loss.value))[0];
  const grads = await Promise.all(model.params.map((p) => backend.read(p.grad)));
  tape.release();
  return { value, grads, names: model.params.map((p) => p.name) };
}

describe('the WASM backend agrees with the reference backend', () => {
  it('on a whole decoder forward and backward (odd sizes, grouped-query attention, packed documents)', async () => {
    const ref = await lossAndGrads(createReferenceBackend());
    const wasm = await lossAndGrads(await createWasmBackend());
    expect(Math.abs(wasm.value - ref.value) / ref.value).toBeLessThan(1e-5);
    ref.grads.forEach((g, i) => {
      let scale = 0;
      let diff = 0;
      for (let j = 0; j < g.length; j++) {
        scale = Math.max(scale, Math.abs(g[j]));
        diff = Math.max(diff, Math.abs(g[j] - wasm.grads[i][j]));
      }
      expect(diff / scale, ref.names[i]).toBeLessThan(1e-4);
    });
  });
});
