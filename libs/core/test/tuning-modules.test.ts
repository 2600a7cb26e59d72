import { describe, expect, it } from 'vitest';
import { sampleModelGradients } from '../src/autodiff/model-gradcheck.ts';
import { crossEntropy, embedding, linear } from '../src/autodiff/ops.ts';
import { Tape } from '../src/autodiff/tape.ts';
import { createReferenceBackend } from '../src/backends/reference/reference-backend.ts';
import type { Batch } from '../src/batch.ts';
import { uploadBatch } from '../src/batch-tensors.ts';
import { adapterForward, adapterParameters, createAdapter } from '../src/nn/bottleneck-adapter.ts';
import { createLora, loraParameters, projection } from '../src/nn/lora.ts';
import { createParameter, type Parameter } from '../src/nn/parameter.ts';
import type { Model } from '../src/plugins/architecture.ts';
import { Rng } from '../src/rng.ts';

// LoRA's projection (with the scale op it adds) and the bottleneck adapter, on their own: a tiny network
// embedding -> LoRA projection -> adapter -> output, through the tape against central finite differences (float64).
const be = createReferenceBackend({ precision: 'f64' });
const [V, D, R] = [7, 5, 2];

function tinyModel(rng: Rng): { model: Model; base: Parameter[] } {
  const normal = (name: string, shape: number[], std: number) =>
    createParameter(be, name, Float32Array.from({ length: shape[0] * shape[1] }, () => rng.normal() * std), shape, true);
  const table = normal('tok_embeddings', [V, D], 0.5);
  const w = normal('layers.0.wq', [D, D], 0.5);
  const out = normal('output', [D, V], 0.5);
  const lora = createLora(be, rng, w, { rank: R, alpha: 3, targets: ['wq'] })!;
  const adapter = createAdapter(be, rng, 'layers.0.attn_adapter', D, { size: 3 });
  const model: Model = {
    architecture: 'tiny',
    config: {},
    params: [table, w, out, ...loraParameters(lora), ...adapterParameters(adapter)],
    forward(tape, batch) {
      const h = projection(tape, embedding(tape, batch.tokens, tape.param(table)), w, lora);
      return linear(tape, adapterForward(tape, h, adapter), tape.param(out));
    },
  };
  return { model, base: [table, w, out] };
}

const batch: Batch = {
  batchSize: 1,
  seqLen: 4,
  tokens: Int32Array.from([1, 4, 6, 2]),
  targets: Int32Array.from([4, 6, 2, 0]),
  lossMask: Float32Array.from([1, 1, 1, 1]),
  segmentIds: new Int32Array(4),
  prefixEnd: new Int32Array(4),
  positions: Int32Array.from([0, 1, 2, 3]),
};

describe('LoRA and bottleneck adapters (core/nn)', () => {
  it('their gradients match finite differences, A\'s included once B is non-zero', () => {
    const rng = new Rng(3);
    const { model } = tinyModel(rng);
    for (const p of model.params.filter((p) => /lora_b$|\.up$/.test(p.name))) be.floatView(p.value).forEach((_, i, v) => (v[i] = rng.normal()));
    for (const { where, analytic, numeric } of sampleModelGradients(be, model, batch, { samplesPerParameter: 4, seed: 5 }))
      expect(Math.abs(analytic - numeric), where).toBeLessThan(1e-7 + 1e-5 * Math.abs(numeric));
  });

  it('LoRA starts at zero (B = 0) and the adapter near the identity; names and shapes follow the weight', () => {
    const { model } = tinyModel(new Rng(3));
    const byName = new Map(model.params.map((p) => [p.name, p]));
    expect(byName.get('layers.0.wq.lora_a')!.value.shape).toEqual([D, R]);
    expect(byName.get('layers.0.wq.lora_b')!.value.shape).toEqual([R, D]);
    expect(be.readFloat(byName.get('layers.0.wq.lora_b')!.value).every((v) => v === 0)).toBe(true);
    for (const name of ['down', 'up']) {
      const values = be.readFloat(byName.get(`layers.0.attn_adapter.${name}`)!.value);
      expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(0.02); // std 1e-2, truncated at 2 std
      expect(values.some((v) => v !== 0)).toBe(true);
    }
    expect(createLora(be, new Rng(1), byName.get('layers.0.wq')!, { rank: 2, alpha: 2, targets: ['wv'] })).toBeUndefined();
  });

  it('a tape given a trainable set leaves every other parameter without a gradient', () => {
    const { model, base } = tinyModel(new Rng(3));
    const trainable = new Set(model.params.filter((p) => !base.includes(p)));
    const tape = new Tape(be, true, false, trainable);
    const inputs = uploadBatch(tape, batch);
    tape.backward(crossEntropy(tape, model.forward(tape, inputs), inputs.targets, inputs.lossMask));
    tape.release();
    for (const p of base) expect(be.readFloat(p.grad).every((g) => g === 0), p.name).toBe(true);
    expect(be.readFloat(model.params.find((p) => p.name === 'layers.0.wq.lora_b')!.grad).some((g) => g !== 0)).toBe(true);
  });
});

