import { describe, expect, it } from 'vitest';
import { AdamW, Rng, Trainer, createReferenceBackend, createWasmBackend, type Backend, type WasmBackend } from '@unilab/core';
import { createDocumentStream, readSotu } from '@unilab/data';
import { clm } from '@unilab/plugins-objective';
import { TrainingDivergedError, buildModel, checkFiniteStep, createDefaultRegistry, parseTrainingSpec, tokenizerFor } from '../src/index.ts';

const registry = createDefaultRegistry();

/** A two-layer decoder training on State of the Union text, three healthy steps in. */
async function trainedThreeSteps(backend: Backend) {
  const spec = parseTrainingSpec({ model: { architecture: 'decoder', config: { layers: 2, dModel: 16, heads: 2 } } });
  const tokenizer = tokenizerFor(spec, registry);
  const model = buildModel(spec, registry, backend, tokenizer.vocabSize);
  const optimizer = new AdamW(backend, model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clipNorm: 1 });
  const documents = (await readSotu()).slice(0, 3).map((d) => tokenizer.encode(d.text));
  const context = { batchSize: 4, seqLen: 32, vocabSize: tokenizer.vocabSize, specialTokens: tokenizer.specialTokens, form: 'single-stack' as const };
  const batcher = clm.createBatcher({}, context, createDocumentStream(documents, 1), new Rng(1));
  const schedule = { kind: 'constant' as const, maxLr: 3e-3, minLr: 3e-3, warmupSteps: 0, totalSteps: 100, decayFraction: 0 };
  const trainer = new Trainer(backend, model, optimizer, batcher, schedule, 2);
  for (let i = 0; i < 3; i++) expect((await trainer.trainStep()).applied).toBe(true);
  return { trainer, model };
}

const backends: [string, () => Promise<Backend>][] = [
  ['reference', async () => createReferenceBackend()],
  ['wasm', () => createWasmBackend()],
];

describe('a diverged step names the op', () => {
  for (const [name, create] of backends) {
    it(`${name}: a second-layer weight of 3e38 fails step 4 at its forward op (the fused gate/up projection), leaving the parameters as they were`, async () => {
      const backend = await create();
      const { trainer, model } = await trainedThreeSteps(backend);
      const wUp = model.params.find((p) => p.name === 'layers.1.w_up')!;
      backend.write(wUp.value, new Float32Array(wUp.value.size).fill(3e38));
      const before = await Promise.all(model.params.map((p) => backend.read(p.value)));

      const result = await trainer.trainStep();
      expect(result).toMatchObject({ step: 4, applied: false });
      expect(trainer.step).toBe(3);
      // Not applied: parameters (and so the replay) are exactly those the step started from.
      expect(await Promise.all(model.params.map((p) => backend.read(p.value)))).toEqual(before);

      const error = await checkFiniteStep(trainer, result, 3e-3).then(() => null, (err: unknown) => err);
      expect(error).toBeInstanceOf(TrainingDivergedError);
      const diverged = error as TrainingDivergedError;
      expect(diverged).toMatchObject({ step: 4, phase: 'forward', op: { phase: 'forward', op: 'swiglu-projection' } });
      expect(Math.abs(diverged.op!.value)).toBe(Infinity);
      expect(diverged.message).toMatch(
        /^training diverged at step 4: the forward op swiglu-projection \(parameters layers\.1\.w_gate, layers\.1\.w_up, output shape \[4, 32, 48\]\) produced -?Infinity, so the loss is NaN; lower train\.lr \(now 0\.003\)$/,
      );
      // The replay released what it made and left the gradients zero.
      for (const p of model.params) expect((await backend.read(p.grad)).every((g) => g === 0)).toBe(true);
      if (name === 'wasm') expect((backend as WasmBackend).memoryStats().liveTensors).toBe(model.params.length * 4);
    });
  }

  it('a finite step is applied and checkFiniteStep lets it through', async () => {
    const { trainer } = await trainedThreeSteps(createReferenceBackend());
    const result = await trainer.trainStep();
    expect(result).toMatchObject({ step: 4, applied: true });
    await expect(checkFiniteStep(trainer, result, 3e-3)).resolves.toBeUndefined();
    await expect(trainer.locateNonFinite()).rejects.toThrow(/no step has diverged/);
  });
});
