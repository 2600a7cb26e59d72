import { describe, expect, it } from 'vitest';
import { createDefaultRegistry, loadedModel } from '@unilab/runner';
import { instructionTasks, preferencePairs, prepareDpo, sft } from '../src/index.ts';
import { sotuSubset, trainTiny } from './fixtures.ts';

// DPO (Rafailov et al. 2023) from an SFT model, on verifier-ranked comparisons, on a tiny decoder pre-trained here.
const registry = createDefaultRegistry();

describe('DPO', () => {
  it('starts at exactly ln 2 and raises held-out preference accuracy above one half', async () => {
    const corpus = await sotuSubset(4);
    const { result, spec } = await trainTiny(corpus, 'decoder', { name: 'clm' }, { steps: 30, lr: 1e-2, seqLen: 64 });
    const loaded = loadedModel(result.model, result.tokenizer, result.backend, spec, registry);
    const tasks = (await instructionTasks({ seed: 1, train: 48, heldOut: 16 })).filter((t) => t.name === 'copy' || t.name === 'reverse');
    const trainExamples = tasks.flatMap((t) => t.train);
    await sft(loaded, result.model.params, trainExamples.map(({ prompt, response }) => ({ prompt, response })), { lr: 1e-2, epochs: 1, batchSize: 16, weightDecay: 0, warmupFraction: 0.1, seed: 1 });
    const train = preferencePairs(trainExamples, 0.1, 4);
    const heldOut = preferencePairs(tasks.flatMap((t) => t.heldOut), 0, 4);
    const run = await prepareDpo(loaded, result.model.params, train, heldOut, { beta: 0.5, lr: 1e-2, epochs: 3, batchSize: 8, weightDecay: 0, seed: 1 });
    const before = await run.heldOut();
    // Policy = reference: every log-ratio is exactly 0 (every comparison a tie, margin 0), so each loss is −log σ(0) = ln 2
    // (the mean of 32 of them differs from ln 2 by the float64 rounding of the sum alone).
    expect({ accuracy: before.accuracy, margin: before.margin, n: before.n }).toEqual({ accuracy: 0.5, margin: 0, n: 32 });
    expect(Math.abs(before.loss - Math.LN2)).toBeLessThan(1e-14);
    const steps = await run.train();
    expect(steps.length).toBe(run.totalSteps);
    expect(steps[0].margin).toBe(0);
    expect(Math.abs(steps[0].loss - Math.LN2)).toBeLessThan(1e-14);
    const after = await run.heldOut();
    console.log(
      `DPO (copy, reverse; 96 train pairs at noise 0.1, 32 held-out, beta 0.5, ${steps.length} steps): held-out accuracy ${before.accuracy} -> ${after.accuracy.toFixed(3)}, ` +
        `margin ${after.margin.toFixed(3)} nats, loss ${before.loss.toFixed(4)} -> ${after.loss.toFixed(4)}; train loss ${steps[steps.length - 1].loss.toFixed(4)}`,
    );
    expect(after.accuracy).toBeGreaterThan(0.5);
    expect(after.margin).toBeGreaterThan(0);
    expect(after.loss).toBeLessThan(Math.LN2);
    result.dispose();
  });
});
