import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, Tape, createReferenceBackend, uploadBatch, type Backend, type Model } from '@unilab/core';
import { buildModel, createDefaultRegistry, loadedModel, type LoadedModel, type TrainingSpec } from '@unilab/runner';
import {
  clippedPolicyLoss,
  clippedValueLoss,
  createPpoRun,
  createRewardModel,
  createValueModel,
  generalizedAdvantages,
  instructionTasks,
  nextBeta,
  pairedWinRate,
  positionValues,
  ppoCurvesSvg,
  ppoBackward,
  preferencePairs,
  readPolicy,
  referenceVerifier,
  rewardModelScorer,
  rewardParameters,
  sft,
  tokenResponseBatch,
  trainRewardModel,
  valueParameters,
  whiten,
  type PpoOptions,
  type PpoParts,
  type RewardModel,
} from '../src/index.ts';
import { sotuSubset, trainTiny } from './fixtures.ts';

// PPO as InstructGPT runs it, on a tiny decoder pre-trained here, fine-tuned on two instruction tasks, with a reward
// model trained from verifier-ranked comparisons.
const registry = createDefaultRegistry();

describe('GAE and the KL controller', () => {
  it('GAE matches a hand-computed example', () => {
    // δ2 = 1 − 0.4 = 0.6; δ1 = 0.9·0.4 − 0.2 = 0.16; δ0 = 0.9·0.2 − 0.5 = −0.32; γλ = 0.72:
    // A2 = 0.6, A1 = 0.16 + 0.72·0.6 = 0.592, A0 = −0.32 + 0.72·0.592 = 0.10624; R = A + V.
    const { advantages, returns } = generalizedAdvantages([0, 0, 1], [0.5, 0.2, 0.4], 0.9, 0.8);
    [0.10624, 0.592, 0.6].forEach((a, t) => expect(advantages[t]).toBeCloseTo(a, 12));
    [0.60624, 0.792, 1].forEach((r, t) => expect(returns[t]).toBeCloseTo(r, 12));
    // γ = λ = 1: the Monte-Carlo return minus the baseline.
    expect(generalizedAdvantages([0, 0, 1], [0.5, 0.2, 0.4], 1, 1).advantages.map((a) => +a.toFixed(12))).toEqual([0.5, 0.8, 0.6]);
    // λ = 0: the one-step TD residual.
    expect(generalizedAdvantages([0, 0, 1], [0.5, 0.2, 0.4], 0.9, 0).advantages.map((a) => +a.toFixed(12))).toEqual([-0.32, 0.16, 0.6]);
    const w = whiten([[1, 2], [3]]).flat();
    expect(w.reduce((a, x) => a + x, 0)).toBeCloseTo(0, 12);
    expect(w.reduce((a, x) => a + x * x, 0) / 3).toBeCloseTo(1, 6);
  });

  it('the adaptive controller moves beta by the clipped proportional error, the fixed one never', () => {
    const adaptive = { kind: 'adaptive', beta: 0.1, target: 2, horizon: 100 } as const;
    // KL 3 against target 2: e = 0.5 clipped to 0.2; 10 responses over horizon 100: β·(1 + 0.02).
    expect(nextBeta(adaptive, { beta: 0.1 }, 3, 10)).toBeCloseTo(0.102, 15);
    // KL 1.8: e = −0.1, β·(1 − 0.01).
    expect(nextBeta(adaptive, { beta: 0.1 }, 1.8, 10)).toBeCloseTo(0.099, 15);
    expect(nextBeta({ kind: 'fixed', beta: 0.3 }, { beta: 0.3 }, 50, 10)).toBe(0.3);
  });

  it('the clipped losses take the gradient away exactly where the clip binds', () => {
    const ln = Math.log;
    // Ratios 1.5 and 0.5 against ε = 0.2: with A > 0 the first is clipped (no gradient), the second is not.
    const pos = clippedPolicyLoss([ln(1.5), ln(0.5)], [0, 0], [1, 1], 0.2);
    expect(pos.gradLogProb[0]).toBe(0);
    expect(pos.gradLogProb[1]).toBeCloseTo(-0.5 / 2, 12);
    expect(pos.loss).toBeCloseTo(-(1.2 + 0.5) / 2, 12);
    expect(pos.clipFraction).toBe(1);
    // With A < 0 the pessimistic bound flips: ratio 1.5 keeps its gradient, 0.5 loses it.
    const neg = clippedPolicyLoss([ln(1.5), ln(0.5)], [0, 0], [-1, -1], 0.2);
    expect(neg.gradLogProb[0]).toBeCloseTo(1.5 / 2, 12);
    expect(neg.gradLogProb[1]).toBe(0);
    // Value 1.0 from old 0.5 (step clipped to 0.7) against return 2: the clipped error (1.3) is larger, and outside
    // the clip range it carries no gradient; against return 0 the free error (1.0) is larger and keeps it.
    expect(clippedValueLoss([1], [0.5], [2], 0.2)).toEqual({ loss: 0.5 * 1.3 ** 2, gradValue: [0], clipFraction: 1 });
    expect(clippedValueLoss([1], [0.5], [0], 0.2).gradValue[0]).toBeCloseTo(1, 12);
  });
});

describe('judging the stages', () => {
  it('the verifier-judged win rate counts a tie as half a win, and McNemar looks at the decisive prompts only', () => {
    // Prompts: A right B wrong ×3, A wrong B right ×1, both right ×4, both wrong ×2.
    const a = [true, true, true, false, true, true, true, true, false, false];
    const b = [false, false, false, true, true, true, true, true, false, false];
    const w = pairedWinRate(a, b, 1);
    expect([w.wins, w.losses, w.ties, w.n]).toEqual([3, 1, 6, 10]);
    expect(w.winRate.value).toBeCloseTo((3 + 6 / 2) / 10, 12);
    expect(w.winRate.low).toBeLessThanOrEqual(0.6);
    expect(w.winRate.high).toBeGreaterThanOrEqual(0.6);
    // Two-sided exact sign test of 3 against 1: 2·P(X ≤ 1 | n = 4) = 2·5/16.
    expect(w.pValue).toBeCloseTo(10 / 16, 12);
    expect(() => pairedWinRate([true], [true, false])).toThrow(/same prompts, got 1 and 2/);
  });

  it('the PPO curves are one SVG with the reward, KL (with its budget) and beta panels', () => {
    const history = [1, 2, 3].map((i) => ({
      iteration: i, reward: 0.1 * i, verifierSuccess: 0.05, kl: 0.5 * i, entropy: 2, responseTokens: 8, beta: 0.1, policyLoss: 0, valueLoss: 0, clipFraction: 0, approxKl: 0,
    }));
    const svg = ppoCurvesSvg(history, { title: 'test', klBudget: 4 });
    expect(svg.match(/<svg /g)?.length).toBe(4);
    expect(svg.match(/<\/svg>/g)?.length).toBe(4);
    for (const label of ['reward model score', 'verifier success', 'KL budget 4', 'KL coefficient β']) expect(svg).toContain(label);
  });
});

describe('PPO backward', () => {
  it('the clipped surrogate plus value loss gradient matches central finite differences in float64', async () => {
    const corpus = await sotuSubset(2);
    const { result, spec } = await trainTiny(corpus, 'decoder', { name: 'clm' }, { steps: 1, config: { layers: 1, dModel: 8, heads: 2 } });
    result.dispose();
    const backend = createReferenceBackend({ precision: 'f64' });
    const model = buildModel(spec, registry, backend, result.tokenizer.vocabSize);
    const policy = loadedModel(model, result.tokenizer, backend, spec, registry);
    const value = await createValueModel(buildModel(spec, registry, backend, result.tokenizer.vocabSize), backend, null, 5);
    const rng = new Rng(3);
    const params = [...model.params, ...valueParameters(value)];
    for (const p of params) {
      const view = backend.floatView(p.value);
      for (let i = 0; i < view.length; i++) view[i] += 0.3 * rng.normal();
    }
    const enc = (s: string) => [...result.tokenizer.encode(s)];
    const layout = tokenResponseBatch(policy, [
      { input: enc('Reverse: stone\nAnswer:'), target: enc(' enots') },
      { input: enc('Copy: we the\nAnswer:'), target: enc(' we the') },
    ]);
    const now = await readPolicy(policy, layout);
    const tape0 = new Tape(backend, false);
    const v0 = backend.readFloat(positionValues(tape0, value, layout.batch).value);
    tape0.release();
    // Old figures off the current ones by ±0.6, so ratios and values land on both sides of the clip (ε = 0.2).
    const jitter = (xs: number[][], s: number) => xs.map((x) => x.map((v) => v + s * (rng.uniform() * 2 - 1)));
    const mb = {
      layout,
      oldLogProb: jitter(now.logProb, 0.6),
      oldValues: jitter(layout.scoredAt.map((ps) => ps.map((i) => v0[i])), 0.6),
      advantages: layout.scoredAt.map((ps) => ps.map(() => rng.normal())),
      returns: layout.scoredAt.map((ps) => ps.map(() => rng.normal())),
    };
    const options = { clip: 0.2, valueClip: 0.2, valueCoef: 0.7 };
    // L^CLIP + c·L^V written out again in float64 (Backend.read gives float32, too coarse for a finite difference).
    const lossF64 = (): number => {
      const tape = new Tape(backend, false);
      try {
        const logitsVar = policy.model.forward(tape, uploadBatch(tape, layout.batch));
        const logits = backend.readFloat(logitsVar.value);
        const vocab = logitsVar.shape[2];
        const values = backend.readFloat(positionValues(tape, value, layout.batch).value);
        const at = layout.scoredAt.flat();
        const [oldLp, adv, oldV, ret] = [mb.oldLogProb.flat(), mb.advantages.flat(), mb.oldValues.flat(), mb.returns.flat()];
        let policyLoss = 0;
        let valueLoss = 0;
        at.forEach((i, j) => {
          const row = Array.from(logits.subarray(i * vocab, (i + 1) * vocab));
          const m = Math.max(...row);
          const logp = row[layout.batch.targets[i]] - m - Math.log(row.reduce((a, z) => a + Math.exp(z - m), 0));
          const ratio = Math.exp(logp - oldLp[j]);
          policyLoss -= Math.min(ratio * adv[j], Math.min(1.2, Math.max(0.8, ratio)) * adv[j]) / at.length;
          const vClipped = oldV[j] + Math.min(0.2, Math.max(-0.2, values[i] - oldV[j]));
          valueLoss += (0.5 * Math.max((values[i] - ret[j]) ** 2, (vClipped - ret[j]) ** 2)) / at.length;
        });
        return policyLoss + options.valueCoef * valueLoss;
      } finally {
        tape.release();
      }
    };
    const losses = await ppoBackward(policy, value, new Set(params), mb, options);
    expect(losses.clipFraction).toBeGreaterThan(0);
    expect(losses.clipFraction).toBeLessThan(1);
    expect(Math.abs(losses.policyLoss + options.valueCoef * losses.valueLoss - lossF64())).toBeLessThan(1e-5);
    const h = 1e-6;
    let checked = 0;
    for (const p of params) {
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
        expect(Math.abs(grad[i] - numeric), `${p.name}[${i}]`).toBeLessThan(1e-6 + 1e-4 * Math.abs(numeric));
        checked++;
      }
    }
    expect(checked).toBe(3 * params.length);
  });
});

/** Weights of a model as plain arrays, so that fresh copies can be built from them. */
async function snapshot(backend: Backend, model: { params: { value: Parameters<Backend['read']>[0] }[] }): Promise<Float32Array[]> {
  return Promise.all(model.params.map(async (p) => Float32Array.from(await backend.read(p.value))));
}

interface Pipeline {
  spec: TrainingSpec;
  backend: Backend;
  base: LoadedModel;
  sftWeights: Float32Array[];
  rm: RewardModel;
  rmWeights: Float32Array[];
  prompts: string[];
  verify: ReturnType<typeof referenceVerifier>;
}

describe('PPO run', () => {
  let pipe: Pipeline;

  beforeAll(async () => {
    const corpus = await sotuSubset(4);
    const { result, spec } = await trainTiny(corpus, 'decoder', { name: 'clm' }, { steps: 30, lr: 1e-2, seqLen: 64 });
    const base = loadedModel(result.model, result.tokenizer, result.backend, spec, registry);
    const tasks = (await instructionTasks({ seed: 1, train: 96, heldOut: 32 })).filter((t) => t.name === 'copy' || t.name === 'reverse');
    const train = tasks.flatMap((t) => t.train);
    const demos = train.map(({ prompt, response }) => ({ prompt, response }));
    await sft(base, result.model.params, demos, { lr: 1e-2, epochs: 1, batchSize: 16, weightDecay: 0, warmupFraction: 0.1, seed: 1 });
    const sftWeights = await snapshot(result.backend, result.model);
    // The reward model starts from the SFT model (InstructGPT §3.5) on a network of its own.
    const rm = createRewardModel(loadedModel(copyOf(spec, result.backend, result.tokenizer.vocabSize, sftWeights), result.tokenizer, result.backend, spec, registry), 1);
    await trainRewardModel(rm, rewardParameters(rm), preferencePairs(train, 0.1, 4), { lr: 1e-3, epochs: 2, batchSize: 16, weightDecay: 0, seed: 1 });
    pipe = { spec, backend: result.backend, base, sftWeights, rm, rmWeights: await snapshot(result.backend, rm.model), prompts: demos.map((d) => d.prompt), verify: referenceVerifier(demos) };
  }, 120_000);

  function copyOf(spec: TrainingSpec, backend: Backend, vocab: number, weights: Float32Array[]): Model {
    const m = buildModel(spec, registry, backend, vocab);
    m.params.forEach((p, i) => backend.write(p.value, weights[i]));
    return m;
  }

  /** Fresh policy, reference and value model from the snapshots: two calls give two runs that start the same. */
  async function parts(): Promise<PpoParts> {
    const { spec, backend, base } = pipe;
    const vocab = base.tokenizer.vocabSize;
    const policy = loadedModel(copyOf(spec, backend, vocab, pipe.sftWeights), base.tokenizer, backend, spec, registry);
    const reference = loadedModel(copyOf(spec, backend, vocab, pipe.sftWeights), base.tokenizer, backend, spec, registry);
    const value = await createValueModel(copyOf(spec, backend, vocab, pipe.rmWeights), backend, { head: pipe.rm.head, backend: pipe.rm.backend }, 1);
    return { policy, trained: policy.model.params, reference, value, valueTrained: valueParameters(value), scorer: rewardModelScorer(pipe.rm), prompts: pipe.prompts, verify: pipe.verify };
  }

  const options = (o: Partial<PpoOptions> = {}): PpoOptions => ({
    iterations: 12,
    rolloutsPerIteration: 32,
    maxTokens: 8,
    epochs: 2,
    minibatchSize: 8,
    lr: 1e-3,
    weightDecay: 0,
    clip: 0.2,
    valueClip: 0.2,
    valueCoef: 0.1,
    gamma: 1,
    lambda: 0.95,
    kl: { kind: 'adaptive', beta: 0.05, target: 4, horizon: 256 },
    klBudget: 20,
    normalizeReward: true,
    seed: 3,
    ...o,
  });

  it('raises the mean reward-model score of its rollouts while the KL to the SFT model stays within budget', async () => {
    const run = createPpoRun(await parts(), options());
    const log = await run.run();
    for (const it of log)
      console.log(
        `ppo ${it.iteration}: reward ${it.reward.toFixed(3)}, verifier ${it.verifierSuccess?.toFixed(3)}, KL ${it.kl.toFixed(3)}, entropy ${it.entropy.toFixed(3)}, ` +
          `clip ${it.clipFraction.toFixed(3)}, value loss ${it.valueLoss.toFixed(4)}, approx KL ${it.approxKl.toFixed(4)}, beta ${it.beta.toFixed(4)}, len ${it.responseTokens.toFixed(1)}`,
      );
    expect(log.length).toBe(12);
    expect(run.stopped).toBeNull();
    // The first iteration samples the SFT model itself: KL to the reference is 0 up to float noise.
    expect(Math.abs(log[0].kl)).toBeLessThan(1e-3);
    const first = (log[0].reward + log[1].reward) / 2;
    const last = (log[10].reward + log[11].reward) / 2;
    expect(last).toBeGreaterThan(first);
    expect(Math.max(...log.map((it) => it.kl))).toBeLessThan(20);
    run.dispose();
  }, 120_000);

  it('stops at the KL budget with a message in its log, and refuses to go on', async () => {
    const run = createPpoRun(await parts(), options({ lr: 3e-3, klBudget: 0.5, kl: { kind: 'fixed', beta: 0.01 } }));
    const log = await run.run();
    const last = log[log.length - 1];
    expect(log.length).toBeLessThan(12);
    expect(last.kl).toBeGreaterThan(0.5);
    expect(last.stopped).toMatch(/^KL to the reference \d+\.\d+ nats per response exceeds the budget 0\.5 at iteration \d+: .*reward hacking guard.*no update made/);
    // The iteration that hit the budget made no update; every one before it was within budget.
    expect([last.policyLoss, last.valueLoss, last.clipFraction]).toEqual([0, 0, 0]);
    expect(log.slice(0, -1).every((it) => it.kl <= 0.5 && it.stopped === undefined)).toBe(true);
    expect(run.stopped).toBe(last.stopped);
    await expect(run.step()).rejects.toThrow(/the run has stopped and will not go on: KL to the reference/);
    run.dispose();
  }, 120_000);

  it('resumed from its saved state, continues bit-identically to a run never interrupted', async () => {
    const o = options({ iterations: 3, rolloutsPerIteration: 16 });
    const weights = async (p: PpoParts) => [...(await snapshot(pipe.backend, p.policy.model)), ...(await snapshot(pipe.backend, p.value.model))];
    const straightParts = await parts();
    const straight = createPpoRun(straightParts, o);
    await straight.run();
    const firstParts = await parts();
    const first = createPpoRun(firstParts, o);
    await first.step();
    const state = await first.saveState();
    first.dispose();
    const resumedParts = await parts();
    const resumed = createPpoRun(resumedParts, o);
    resumed.restoreState(state);
    expect(resumed.iteration).toBe(1);
    await resumed.run();
    expect(resumed.history).toEqual(straight.history);
    expect(resumed.beta).toBe(straight.beta);
    const [a, b] = [await weights(straightParts), await weights(resumedParts)];
    a.forEach((w, i) => expect(Buffer.from(b[i].buffer).equals(Buffer.from(w.buffer)), `tensor ${i}`).toBe(true));
    expect(Buffer.from(await resumed.saveState()).equals(Buffer.from(await straight.saveState()))).toBe(true);
    // A state is refused by a run with other options.
    const other = createPpoRun(await parts(), { ...o, clip: 0.3 });
    expect(() => other.restoreState(state, 'state.safetensors')).toThrow(/state\.safetensors was written by a run with other options: clip 0\.2 \(now 0\.3\); resume with the same ones/);
    for (const r of [straight, resumed, other]) r.dispose();
  }, 120_000);
});
