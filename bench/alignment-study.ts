/**
 * alignment-study: issue 15's measured outcome, end to end in one process on the bundled corpora.
 *
 *   npm run -s study:alignment -- [--out docs/alignment] [--pretrain-steps 800] [--ppo-iterations 30] [--seed 1]
 *
 * 1. pre-trains a small decoder on the Brown corpus (text only: no genre label, no task answer);
 * 2. builds the five instruction tasks (libs/eval/src/align) and their preference pairs at noise 0.2;
 * 3. SFT on the demonstrations; a reward model from the SFT model on the pairs; PPO from the SFT model against the
 *    reward model (InstructGPT), and a second PPO run with the verifier as the reward (the reward the reward model
 *    stands in for); DPO from the SFT model on the same pairs;
 * 4. on the held-out prompts, for the pre-trained, SFT, PPO and DPO models: verifier success of the greedy answers
 *    (Wilson interval), the reward model's mean score of those answers (bootstrap interval), KL to the SFT model on
 *    sampled responses, and win rates of PPO and DPO against SFT judged by the verifier (paired on the same prompts,
 *    a tie counted as half a win, bootstrap interval, exact McNemar p).
 * Writes <out>/study.json (every figure and the PPO log) and <out>/ppo-curves.svg, and prints the Markdown table that
 * docs/ALIGNMENT.md carries.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend, Model } from '@unilab/core';
import { buildModel, createDefaultRegistry, loadedModel, parseTrainingSpec, runTraining, type LoadedModel } from '@unilab/runner';
import {
  createPpoRun,
  createRewardModel,
  createValueModel,
  heldOutEvaluation,
  instructionTasks,
  pairedWinRate,
  pairwiseAccuracy,
  ppoCurvesSvg,
  preferencePairs,
  prepareDpo,
  referenceVerifier,
  responseNll,
  rewardModelScorer,
  rewardParameters,
  verifierScorer,
  sft,
  trainRewardModel,
  valueParameters,
  DEFAULT_PPO_OPTIONS,
  type HeldOutFigures,
  type PpoOptions,
  type ResponseScorer,
} from '@unilab/eval';

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : fallback;
};
const integer = (name: string, fallback: number) => {
  const n = Number(option(name, String(fallback)));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${option(name, '')}`);
  return n;
};
const outDir = option('out', 'docs/alignment');
const pretrainSteps = integer('pretrain-steps', 800);
const ppoIterations = integer('ppo-iterations', 30);
const seed = integer('seed', 1);
const trainPerTask = integer('train', 200);
const heldOutPerTask = integer('held-out', 40);
const maxTokens = integer('max-tokens', 12);
const started = performance.now();
const clock = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const registry = createDefaultRegistry();

// 1. Pre-training.
const spec = parseTrainingSpec({
  name: 'alignment-study',
  seed,
  backend: 'wasm',
  data: { corpus: 'brown', heldOutFraction: 0.05 },
  model: { architecture: 'decoder', config: { layers: 2, dModel: 64, heads: 4 } },
  objective: { name: 'clm' },
  train: { steps: pretrainSteps, batchSize: 16, seqLen: 128, lr: 3e-3, minLr: 3e-4, warmupSteps: 20, evalEvery: 0, evalBatches: 4, checkpointEvery: 0 },
  samplePrompts: [],
});
const pre = await runTraining({ spec, outDir: await mkdtemp(join(tmpdir(), 'unilab-alignment-study-')), registry });
const { backend, tokenizer } = pre;
console.log(`[${clock()}] pre-trained ${pretrainSteps} steps on Brown`);

const snapshot = async (m: Model) => Promise.all(m.params.map(async (p) => Float32Array.from(await backend.read(p.value))));
const copyOf = (weights: Float32Array[]): Model => {
  const m = buildModel(spec, registry, backend as Backend, tokenizer.vocabSize);
  m.params.forEach((p, i) => backend.write(p.value, weights[i]));
  return m;
};
const loaded = (weights: Float32Array[]): LoadedModel => loadedModel(copyOf(weights), tokenizer, backend, spec, registry);
const baseWeights = await snapshot(pre.model);

// 2. Data.
const tasks = await instructionTasks({ seed, train: trainPerTask, heldOut: heldOutPerTask });
const train = tasks.flatMap((t) => t.train);
const heldOut = tasks.flatMap((t) => t.heldOut);
const demos = train.map(({ prompt, response }) => ({ prompt, response }));
const heldOutDemos = heldOut.map(({ prompt, response }) => ({ prompt, response }));
const pairs = preferencePairs(train, 0.2, seed);
const heldOutPairs = preferencePairs(heldOut, 0, seed);
const verify = referenceVerifier([...demos, ...heldOutDemos]);
const prompts = heldOut.map((e) => e.prompt);

// 3a. SFT.
const sftModel = loaded(baseWeights);
const nllBefore = await responseNll(sftModel, heldOutDemos);
const sftLosses = await sft(sftModel, sftModel.model.params, demos, { lr: 2e-3, epochs: 4, batchSize: 16, weightDecay: 0, warmupFraction: 0.1, seed });
const nllAfter = await responseNll(sftModel, heldOutDemos);
const sftWeights = await snapshot(sftModel.model);
console.log(`[${clock()}] SFT ${sftLosses.length} steps: held-out response NLL ${nllBefore.toFixed(3)} -> ${nllAfter.toFixed(3)}`);

// 3b. Reward model, from the SFT model.
const rm = createRewardModel(loaded(sftWeights), seed);
const rmBefore = await pairwiseAccuracy(rm, heldOutPairs);
const rmLosses = await trainRewardModel(rm, rewardParameters(rm), pairs, { lr: 5e-4, epochs: 3, batchSize: 16, weightDecay: 0, seed });
const rmAfter = await pairwiseAccuracy(rm, heldOutPairs);
const rmWeights = await snapshot(rm.model);
console.log(`[${clock()}] reward model ${rmLosses.length} steps: held-out pairwise accuracy ${rmBefore.accuracy.toFixed(3)} -> ${rmAfter.accuracy.toFixed(3)}`);

// 3c. PPO from the SFT model against the reward model.
const ppoOptions: PpoOptions = {
  ...DEFAULT_PPO_OPTIONS,
  iterations: ppoIterations,
  rolloutsPerIteration: 32,
  maxTokens,
  epochs: 2,
  minibatchSize: 8,
  lr: 2e-4,
  kl: { kind: 'adaptive', beta: 0.1, target: 3, horizon: 256 },
  klBudget: 12,
  seed,
};
const reference = loaded(sftWeights);
async function runPpo(name: string, scorer: ResponseScorer) {
  const policy = loaded(sftWeights);
  const value = await createValueModel(copyOf(rmWeights), backend, { head: rm.head, backend }, seed);
  const run = createPpoRun(
    { policy, trained: policy.model.params, reference, value, valueTrained: valueParameters(value), scorer, prompts: demos.map((d) => d.prompt), verify },
    ppoOptions,
  );
  await run.run({
    onIteration: (it) =>
      console.log(
        `[${clock()}] ${name} ${it.iteration}: reward ${it.reward.toFixed(4)}, verifier ${it.verifierSuccess?.toFixed(3)}, KL ${it.kl.toFixed(3)}, beta ${it.beta.toFixed(4)}, ` +
          `entropy ${it.entropy.toFixed(3)}, clip ${it.clipFraction.toFixed(3)}, value loss ${it.valueLoss.toFixed(4)}, approx KL ${it.approxKl.toFixed(4)}${it.stopped ? ` STOPPED: ${it.stopped}` : ''}`,
      ),
  });
  run.dispose();
  return { policy, history: run.history, stopped: run.stopped };
}
const ppo = await runPpo('ppo', rewardModelScorer(rm));
const ppoVerifier = await runPpo('ppo (verifier reward)', verifierScorer(verify));

// 3d. DPO from the SFT model on the same pairs.
const dpoModel = loaded(sftWeights);
const dpoBeta = 0.1;
const dpo = await prepareDpo(dpoModel, dpoModel.model.params, pairs, heldOutPairs, { beta: dpoBeta, lr: 5e-4, epochs: 2, batchSize: 16, weightDecay: 0, seed });
const dpoSteps = await dpo.train();
const dpoHeldOut = await dpo.heldOut();
console.log(`[${clock()}] DPO ${dpoSteps.length} steps: held-out preference accuracy ${dpoHeldOut.accuracy.toFixed(3)}, margin ${dpoHeldOut.margin.toFixed(3)}`);

// 4. Held-out evaluation.
const evaluate = (m: LoadedModel) => heldOutEvaluation(m, prompts, { verify, rewardModel: rm, reference, maxTokens, seed });
const figures: Record<string, HeldOutFigures> = {};
for (const [name, m] of [['pre-trained', loaded(baseWeights)], ['SFT', reference], ['PPO', ppo.policy], ['PPO (verifier reward)', ppoVerifier.policy], ['DPO', dpoModel]] as const) {
  figures[name] = await evaluate(m);
  console.log(`[${clock()}] evaluated ${name}`);
}
const wins = Object.fromEntries(['PPO', 'PPO (verifier reward)', 'DPO'].map((name) => [name, pairedWinRate(figures[name].verdicts, figures.SFT.verdicts, seed)]));
const perTask = (f: HeldOutFigures) =>
  tasks.map((t) => {
    const idx = heldOut.flatMap((e, i) => (e.task === t.name ? [i] : []));
    return `${idx.filter((i) => f.verdicts[i]).length}/${idx.length}`;
  });

const f3 = (x: number) => x.toFixed(3);
const lines = [
  '| model | verifier success [95% CI] | per task (' + tasks.map((t) => t.name).join(', ') + ') | RM reward [95% CI] | KL to SFT (nats/response) |',
  '|---|---|---|---|---|',
  ...Object.entries(figures).map(
    ([name, f]) =>
      `| ${name} | ${f.verifier.correct}/${f.verifier.n} = ${f3(f.verifier.rate)} [${f3(f.verifier.ci95.low)}, ${f3(f.verifier.ci95.high)}] | ${perTask(f).join(', ')} | ` +
      `${f3(f.reward!.value)} [${f3(f.reward!.low)}, ${f3(f.reward!.high)}] | ${f3(f.kl!.kl)} |`,
  ),
  '',
  '| comparison (verifier, paired) | wins | losses | ties | win rate, tie = ½ [95% CI] | McNemar p |',
  '|---|---|---|---|---|---|',
  ...Object.entries(wins).map(([name, w]) => `| ${name} vs SFT | ${w.wins} | ${w.losses} | ${w.ties} | ${f3(w.winRate.value)} [${f3(w.winRate.low)}, ${f3(w.winRate.high)}] | ${w.pValue.toPrecision(3)} |`),
];
const table = lines.join('\n');
console.log('\n' + table + '\n');
await mkdir(outDir, { recursive: true });
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
await writeFile(join(outDir, 'ppo-curves.svg'), ppoCurvesSvg(ppo.history, { title: 'PPO, reward model', klBudget: ppoOptions.klBudget }));
await writeFile(join(outDir, 'ppo-verifier-reward-curves.svg'), ppoCurvesSvg(ppoVerifier.history, { title: 'PPO, verifier reward', klBudget: ppoOptions.klBudget }));
await writeFile(
  join(outDir, 'study.json'),
  JSON.stringify(
    {
      command: `npm run -s study:alignment -- ${argv.join(' ')}`.trim(),
      machine,
      seconds: Math.round((performance.now() - started) / 1000),
      spec,
      sizes: { trainPerTask, heldOutPerTask, pairs: pairs.length, heldOutPairs: heldOutPairs.length, maxTokens },
      sft: { steps: sftLosses.length, heldOutNll: [nllBefore, nllAfter] },
      rewardModel: { steps: rmLosses.length, pairwiseAccuracy: [rmBefore, rmAfter] },
      ppo: { options: ppoOptions, stopped: ppo.stopped, history: ppo.history },
      ppoVerifierReward: { stopped: ppoVerifier.stopped, history: ppoVerifier.history },
      dpo: { beta: dpoBeta, steps: dpoSteps.length, heldOut: dpoHeldOut },
      heldOut: Object.fromEntries(Object.entries(figures).map(([k, f]) => [k, { verifier: f.verifier, reward: f.reward, kl: f.kl, perTask: perTask(f) }])),
      winRates: wins,
      table,
    },
    null,
    2,
  ) + '\n',
);
console.log(`[${clock()}] wrote study.json, ppo-curves.svg and ppo-verifier-reward-curves.svg to ${outDir} (${machine})`);
pre.dispose();
