import { describe, expect, it } from 'vitest';
import { Rng, Tape, createReferenceBackend, ops, uploadBatch } from '@unilab/core';
import { buildModel, createDefaultRegistry, loadedModel } from '@unilab/runner';
import { comparisonBatch, dpoBackward, instructionTasks, preferencePairs, prepareDpo, sft } from '../src/index.ts';
import { sotuSubset, trainTiny } from './fixtures.ts';

// DPO (Rafailov et al. 2023) from an SFT model, on verifier-ranked comparisons, on a tiny decoder pre-trained here.
const registry = createDefaultRegistry();

describe('DPO', () => {
  it('starts at exactly ln 2 and raises held-out preference accuracy above one half', async () => {
    const corpus = await sotuSubset(4);
    const { result, spec } = await trainTiny(corpus, 'decoder', { name: 'clm' }, { steps: 30, lr: 1e-2, seqLen: 64 });
    const loaded = loadedModel(result.model, result.tokenizer, result.backend, spec, registry);
    const tasks = (await instructionTasks({ seed: 1, train: 96, heldOut: 32 })).filter((t) => t.name === 'copy' || t.name === 'reverse');
    const trainExamples = tasks.flatMap((t) => t.train);
    await sft(loaded, result.model.params, trainExamples.map(({ prompt, response }) => ({ prompt, response })), { lr: 1e-2, epochs: 1, batchSize: 16, weightDecay: 0, warmupFraction: 0.1, seed: 1 });
    const train = preferencePairs(trainExamples, 0.1, 4);
    const heldOut = preferencePairs(tasks.flatMap((t) => t.heldOut), 0, 4);
    const run = await prepareDpo(loaded, result.model.params, train, heldOut, { beta: 0.5, lr: 3e-3, epochs: 2, batchSize: 16, weightDecay: 0, seed: 1 });
    const before = await run.heldOut();
    // Policy = reference: every log-ratio is exactly 0 (every comparison a tie, margin 0), so each loss is −log σ(0) = ln 2
    // (the mean of 64 of them differs from ln 2 by the float64 rounding of the sum alone).
    expect({ accuracy: before.accuracy, margin: before.margin, n: before.n }).toEqual({ accuracy: 0.5, margin: 0, n: 64 });
    expect(Math.abs(before.loss - Math.LN2)).toBeLessThan(1e-14);
    const steps = await run.train();
    expect(steps.length).toBe(run.totalSteps);
    expect(steps[0].margin).toBe(0);
    expect(Math.abs(steps[0].loss - Math.LN2)).toBeLessThan(1e-14);
    const after = await run.heldOut();
    console.log(
      `DPO (copy, reverse; 192 train pairs at noise 0.1, 64 held-out, beta 0.5, ${steps.length} steps): held-out accuracy ${before.accuracy} -> ${after.accuracy.toFixed(3)}, ` +
        `margin ${after.margin.toFixed(3)} nats, loss ${before.loss.toFixed(4)} -> ${after.loss.toFixed(4)}; train loss ${steps[steps.length - 1].loss.toFixed(4)}`,
    );
    expect(after.accuracy).toBeGreaterThan(0.5);
    expect(after.margin).toBeGreaterThan(0);
    expect(after.loss).toBeLessThan(Math.LN2);
    result.dispose();
  });

  it('its gradient matches central finite differences in float64', async () => {
    const corpus = await sotuSubset(2);
    const { result, spec } = await trainTiny(corpus, 'decoder', { name: 'clm' }, { steps: 1, config: { layers: 1, dModel: 8, heads: 2 } });
    result.dispose();
    const backend = createReferenceBackend({ precision: 'f64' });
    const model = buildModel(spec, registry, backend, result.tokenizer.vocabSize);
    const loaded = loadedModel(model, result.tokenizer, backend, spec, registry);
    const pairs = [
      { prompt: 'Reverse: stone\nAnswer:', chosen: ' enots', rejected: ' stone' },
      { prompt: 'Copy: we the\nAnswer:', chosen: ' we the', rejected: ' we' },
    ];
    const group = await comparisonBatch(loaded, pairs);
    // Move the policy off the reference so that z is not 0 and σ(−z) is not one half.
    const rng = new Rng(3);
    for (const p of model.params) {
      const view = backend.floatView(p.value);
      for (let i = 0; i < view.length; i++) view[i] += 0.3 * rng.normal();
    }
    const beta = 0.7;
    // Eq. 7 written out again in float64 (Backend.read gives float32, too coarse for a finite difference).
    const lossF64 = (): number => {
      const tape = new Tape(backend, false);
      try {
        const t = uploadBatch(tape, group.batch);
        const logits = model.forward(tape, t);
        const logp = group.masks.map((mask, e) => {
          const ce = backend.readFloat(ops.crossEntropy(tape, logits, t.targets, tape.own(backend.fromArray(mask, [group.batch.batchSize, group.batch.seqLen], 'f32'))).value)[0];
          return -group.scored[e] * ce;
        });
        const b = pairs.length;
        let loss = 0;
        for (let i = 0; i < b; i++) {
          const z = beta * (logp[i] - group.reference[i] - (logp[b + i] - group.reference[b + i]));
          loss += Math.log1p(Math.exp(-z)) / b;
        }
        return loss;
      } finally {
        tape.release();
      }
    };
    const at = await dpoBackward(loaded, new Set(model.params), group, beta);
    expect(Math.abs(at.margin)).toBeGreaterThan(1e-3);
    const h = 1e-6;
    let checked = 0;
    for (const p of model.params) {
      const grad = backend.readFloat(p.grad);
      const view = backend.floatView(p.value);
      for (let s = 0; s < 3; s++) {
        const i = rng.int(view.length);
        const saved = view[i];
        view[i] = saved + h;
        const up = lossF64();
        view[i] = saved - h;
        const down = lossF64();
        view[i] = saved;
        const numeric = (up - down) / (2 * h);
        expect(Math.abs(grad[i] - numeric), `${p.name}[${i}]`).toBeLessThan(1e-7 + 1e-5 * Math.abs(numeric));
        checked++;
      }
    }
    expect(checked).toBe(3 * model.params.length);
  });
});
