import { describe, expect, it } from 'vitest';
import { instructionTasks, createRewardModel, pairwiseAccuracy, preferencePairs, rewardParameters, rewardScores, trainRewardModel } from '../src/index.ts';
import { sotuSubset, trainTiny } from './fixtures.ts';

// InstructGPT's reward model: the pre-trained decoder with a scalar head, the pairwise Bradley-Terry loss.
describe('reward model', () => {
  it('its loss is −log σ(r_w − r_l) and training raises held-out pairwise accuracy above one half', async () => {
    const corpus = await sotuSubset(4);
    const { model, result } = await trainTiny(corpus, 'decoder', { name: 'clm' }, { steps: 30, lr: 1e-2, seqLen: 64 });
    const tasks = (await instructionTasks({ seed: 1, train: 96, heldOut: 32 })).filter((t) => t.name === 'copy' || t.name === 'reverse');
    const train = preferencePairs(tasks.flatMap((t) => t.train), 0.1, 4);
    const heldOut = preferencePairs(tasks.flatMap((t) => t.heldOut), 0, 4);
    const rm = createRewardModel(model, 1);
    // One step over every pair: its loss, read before the update, is the Bradley-Terry loss of the scores.
    const few = train.slice(0, 12);
    const rw = await rewardScores(rm, few.map((p) => ({ prompt: p.prompt, response: p.chosen })));
    const rl = await rewardScores(rm, few.map((p) => ({ prompt: p.prompt, response: p.rejected })));
    const bradleyTerry = rw.reduce((a, r, i) => a + Math.log1p(Math.exp(-(r - rl[i]))), 0) / few.length;
    const [first] = await trainRewardModel(rm, rewardParameters(rm), few, { lr: 1e-9, epochs: 1, batchSize: 12, weightDecay: 0, seed: 1 });
    expect(Math.abs(first - bradleyTerry)).toBeLessThan(1e-5);
    const before = await pairwiseAccuracy(rm, heldOut);
    const losses = await trainRewardModel(rm, rewardParameters(rm), train, { lr: 1e-3, epochs: 2, batchSize: 16, weightDecay: 0, seed: 1 });
    const after = await pairwiseAccuracy(rm, heldOut);
    console.log(
      `reward model (copy, reverse; 192 train pairs at noise 0.1, 64 held-out, ${losses.length} steps): held-out pairwise accuracy ${before.accuracy.toFixed(3)} -> ${after.accuracy.toFixed(3)} ` +
        `[${after.ci95.low.toFixed(3)}, ${after.ci95.high.toFixed(3)}]; train loss ${losses[0].toFixed(4)} -> ${losses[losses.length - 1].toFixed(4)}`,
    );
    expect(after.accuracy).toBeGreaterThan(0.5);
    expect(after.accuracy).toBeGreaterThan(before.accuracy);
    result.dispose();
  });
});
