import { describe, expect, it } from 'vitest';
import { Tape, createReferenceBackend, uploadBatch, type Batch, type Model } from '@unilab/core';
import { packBatch } from './batches.ts';
import { buildModel } from './models.ts';

// Dropout masks are a function of (batch tokens, model seed, site), never of hidden state: a rebuilt model (as after
// a resume) on the same batch draws the same masks, so resumed training stays bit-identical.
const backend = createReferenceBackend();
const batch = packBatch([[{ length: 10, mode: { kind: 'causal' } }]], 10, 20, 1).batch;

async function logits(model: Model, b: Batch, training: boolean): Promise<Float32Array> {
  const tape = new Tape(backend, training);
  try {
    return (await backend.read(model.forward(tape, uploadBatch(tape, b)).value)) as Float32Array;
  } finally {
    tape.release();
  }
}

describe('dropout', () => {
  const config = { layers: 2, dModel: 16, heads: 2, dropout: 0.3 };

  it('draws the same masks for the same batch in a rebuilt model (resume), other masks for another batch', async () => {
    const a = await logits(buildModel('decoder', backend, 20, config), batch, true);
    const again = await logits(buildModel('decoder', backend, 20, config), batch, true);
    expect(again).toEqual(a);
    const other = { ...batch, tokens: batch.tokens.map((t) => (t + 1) % 20) };
    const withoutDropout = buildModel('decoder', backend, 20, { ...config, dropout: 0 });
    const model = buildModel('decoder', backend, 20, config);
    // Same weights with and without dropout (the dropout seed is drawn after every parameter).
    expect(await logits(model, other, false)).toEqual(await logits(withoutDropout, other, false));
    expect(await logits(model, other, true)).not.toEqual(await logits(model, other, false));
  });

  it('is off when the tape does not record (evaluation, generation)', async () => {
    const model = buildModel('decoder', backend, 20, config);
    expect(await logits(model, batch, false)).toEqual(await logits(model, batch, false));
    expect(await logits(model, batch, true)).not.toEqual(await logits(model, batch, false));
  });

  it('drops about the given fraction and rescales the rest by 1 / (1 - rate)', async () => {
    const x = backend.fromArray(new Float32Array(20000).fill(1), [20000]);
    const seed = backend.fromArray(new Int32Array([1, 2, 3]), [3], 'i32');
    const y = (await backend.read(backend.dropout(x, 0.25, seed, 7))) as Float32Array;
    const kept = y.filter((v) => v !== 0);
    expect(kept.length / y.length).toBeCloseTo(0.75, 1);
    expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
  });
});
