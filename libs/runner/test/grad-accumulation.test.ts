import { describe, expect, it } from 'vitest';
import { Rng, Tape, createReferenceBackend, ops, uploadBatch, type Batch, type Model } from '@unilab/core';
import { ByteTokenizer, createDocumentStream, readSotu } from '@unilab/data';
import { decoder } from '@unilab/plugins-arch';
import { clm } from '@unilab/plugins-objective';

const be = createReferenceBackend({ precision: 'f64' });

/** Run forward + backward with seed `scale`, accumulating into the parameters' gradient buffers. */
function accumulate(model: Model, batch: Batch, scale: number): void {
  const tape = new Tape(be);
  const inputs = uploadBatch(tape, batch);
  tape.backward(ops.crossEntropy(tape, model.forward(tape, inputs), inputs.targets, inputs.lossMask), scale);
  tape.release();
}

describe('gradient accumulation', () => {
  it('two micro-batches with seed 1/2 accumulate the mean of their separate gradients', async () => {
    const tokenizer = new ByteTokenizer();
    const docs = (await readSotu()).slice(20, 23).map((d) => tokenizer.encode(d.text));
    const context = { batchSize: 2, seqLen: 24, vocabSize: tokenizer.vocabSize, specialTokens: tokenizer.specialTokens, form: 'single-stack' as const };
    const batcher = clm.createBatcher({}, context, createDocumentStream(docs, 5), new Rng(5));
    const [a, b] = [batcher.next(), batcher.next()];
    const config = decoder.configSchema.parse({ layers: 1, dModel: 16, heads: 2 }, 'model');
    const model = decoder.create(config, { backend: be, vocabSize: tokenizer.vocabSize, rng: new Rng(2) });
    const grads = () => model.params.map((p) => be.readFloat(p.grad));
    const zero = () => model.params.forEach((p) => be.fillZero(p.grad));

    accumulate(model, a, 1);
    const ga = grads();
    zero();
    accumulate(model, b, 1);
    const gb = grads();
    zero();
    accumulate(model, a, 0.5);
    accumulate(model, b, 0.5);
    const gab = grads();

    gab.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo((ga[i][j] + gb[i][j]) / 2, 12)));
  });
});
