import { appendFile, readFile, writeFile } from 'node:fs/promises';
import {
  DEFAULT_PPO_OPTIONS,
  createPpoRun,
  createValueModel,
  demonstrations,
  headParameters,
  heldOutEvaluation,
  loadAlignedModel,
  loadRewardModel,
  referenceVerifier,
  rewardModelScorer,
  saveAlignedModel,
  verifierScorer,
  type HeldOutFigures,
  type KlControl,
  type PpoIteration,
  type PpoOptions,
} from '@unilab/eval';
import { writeFileAtomic } from '@unilab/runner';
import { numberOption, optionChoice, positiveInteger, positiveNumber, type ParsedArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';
import { describeTraining, tuningFromArgs } from './align-tuning.ts';
import { records, requiredPath } from './align-files.ts';

export const PPO_USAGE = [
  'usage: unilab align ppo <sft-checkpoint> --reward-model RM --prompts FILE [--held-out FILE] --out CKPT [--state FILE [--resume]] [--log FILE.jsonl]',
  '  [--iterations 20] [--rollouts 32] [--max-tokens 12] [--epochs 2] [--minibatch 8] [--lr 1e-4] [--clip 0.2] [--value-clip 0.2] [--value-coef 0.1]',
  '  [--gamma 1] [--lambda 0.95] [--kl adaptive|fixed] [--beta 0.1] [--kl-target 2] [--kl-horizon 256] [--kl-budget 10] [--reward reward-model|verifier] [--seed 1]',
  '  PPO (InstructGPT): the policy from the SFT checkpoint, the SFT model as the frozen reference, the value model a copy of the',
  '  reward model; prompts from {"prompt","response"} lines (the responses are the verifier\'s answers); stops at the KL budget',
].join('\n');

function ppoOptions(args: ParsedArgs): PpoOptions {
  const d = DEFAULT_PPO_OPTIONS;
  const dk = d.kl.kind === 'adaptive' ? d.kl : { target: 2, horizon: 256 };
  const beta = numberOption(args, 'beta', d.kl.beta);
  const kl: KlControl =
    optionChoice(args, 'kl', ['adaptive', 'fixed'] as const, d.kl.kind) === 'fixed'
      ? { kind: 'fixed', beta }
      : { kind: 'adaptive', beta, target: positiveNumber(args, 'kl-target', dk.target), horizon: positiveNumber(args, 'kl-horizon', dk.horizon) };
  return {
    iterations: positiveInteger(args, 'iterations', d.iterations),
    rolloutsPerIteration: positiveInteger(args, 'rollouts', d.rolloutsPerIteration),
    maxTokens: positiveInteger(args, 'max-tokens', d.maxTokens),
    epochs: positiveInteger(args, 'epochs', d.epochs),
    minibatchSize: positiveInteger(args, 'minibatch', d.minibatchSize),
    lr: positiveNumber(args, 'lr', d.lr),
    weightDecay: d.weightDecay,
    clip: positiveNumber(args, 'clip', d.clip),
    valueClip: positiveNumber(args, 'value-clip', d.valueClip),
    valueCoef: positiveNumber(args, 'value-coef', d.valueCoef),
    gamma: numberOption(args, 'gamma', d.gamma),
    lambda: numberOption(args, 'lambda', d.lambda),
    kl,
    klBudget: positiveNumber(args, 'kl-budget', d.klBudget),
    normalizeReward: d.normalizeReward,
    seed: numberOption(args, 'seed', d.seed),
  };
}

export function formatIteration(it: PpoIteration): string {
  const v = it.verifierSuccess === null ? '' : `, verifier ${it.verifierSuccess.toFixed(3)}`;
  return (
    `  iteration ${it.iteration}: reward ${it.reward.toFixed(4)}${v}, KL ${it.kl.toFixed(3)}, beta ${it.beta.toFixed(4)}, entropy ${it.entropy.toFixed(3)}, ` +
    `clip fraction ${it.clipFraction.toFixed(3)}, value loss ${it.valueLoss.toFixed(4)}, approx KL ${it.approxKl.toFixed(4)}`
  );
}

/** `unilab align ppo`: InstructGPT's PPO stage, from checkpoints, resumable from its state file. */
export async function ppoStage(args: ParsedArgs, usage: string): Promise<number> {
  const checkpoint = args.positionals[0];
  if (!checkpoint) throw new Error(usage);
  const rmPath = requiredPath(args, 'reward-model', usage);
  const promptsPath = requiredPath(args, 'prompts', usage);
  const out = requiredPath(args, 'out', usage);
  const demos = demonstrations(await records(promptsPath), promptsPath);
  const heldOutPath = args.options.get('held-out');
  const heldOut = typeof heldOutPath === 'string' ? demonstrations(await records(heldOutPath), heldOutPath) : null;
  const statePath = args.options.get('state');
  const resume = args.options.has('resume');
  if (resume && typeof statePath !== 'string') throw new Error(`--resume needs --state FILE (the state a run wrote)\n${usage}`);
  const logPath = args.options.get('log');
  const options = ppoOptions(args);
  const rewardKind = optionChoice(args, 'reward', ['reward-model', 'verifier'] as const, 'reward-model');
  const registry = await registryFromArgs(args);
  const tuning = tuningFromArgs(args);
  const policy = await loadAlignedModel(checkpoint, registry, { tuning, loraTargetsField: '--lora-targets' });
  const reference = (await loadAlignedModel(checkpoint, registry)).loaded;
  const { rm } = await loadRewardModel(rmPath, registry);
  if (rm.tokenizer.vocabSize !== policy.loaded.tokenizer.vocabSize)
    throw new Error(`--reward-model ${rmPath} has a vocabulary of ${rm.tokenizer.vocabSize}, the policy ${policy.loaded.tokenizer.vocabSize}: train the reward model from the SFT checkpoint`);
  // The value model: the reward model's network again, on the policy's backend, trained as the policy is.
  const valueNet = await loadAlignedModel(rmPath, registry, { tuning: policy.tuning, backend: policy.loaded.backend });
  const value = await createValueModel(valueNet.loaded.model, policy.loaded.backend, { head: rm.head, backend: rm.backend }, options.seed);
  const verify = referenceVerifier([...demos, ...(heldOut ?? [])]);
  const run = createPpoRun(
    {
      policy: policy.loaded,
      trained: policy.trained,
      reference,
      value,
      valueTrained: [...valueNet.trained, ...headParameters(value.head)],
      scorer: rewardKind === 'verifier' ? verifierScorer(verify) : rewardModelScorer(rm),
      prompts: demos.map((d) => d.prompt),
      verify,
    },
    options,
  );
  if (resume) {
    run.restoreState(new Uint8Array(await readFile(statePath as string)), `state ${statePath}`);
    console.log(`  resumed from ${statePath} after iteration ${run.iteration}`);
  } else if (typeof logPath === 'string') await writeFile(logPath, '');
  if (policy.tuning) console.log(`  ${describeTraining(policy.trained, policy.loaded.model.params, policy.tuning)}`);
  const evaluate = (model: typeof reference) =>
    heldOutEvaluation(model, heldOut!.map((d) => d.prompt), { verify, rewardModel: rm, reference, maxTokens: options.maxTokens, seed: options.seed });
  const before = heldOut && !resume ? await evaluate(policy.loaded) : null;
  try {
    await run.run({
      async onIteration(it) {
        console.log(formatIteration(it));
        if (it.stopped) console.log(`  stopped: ${it.stopped}`);
        if (typeof logPath === 'string') await appendFile(logPath, JSON.stringify(it) + '\n');
        if (typeof statePath === 'string') await writeFileAtomic(statePath, await run.saveState());
      },
    });
  } finally {
    run.dispose();
  }
  const last = run.history[run.history.length - 1];
  console.log(`unilab align ppo: ${run.iteration} iterations of ${options.rolloutsPerIteration} rollouts, reward ${rewardKind}; final KL to the SFT model ${last.kl.toFixed(3)} nats (budget ${options.klBudget})`);
  if (run.stopped) console.log(`  the run stopped at the KL budget: ${run.stopped}`);
  if (heldOut) {
    const after = await evaluate(policy.loaded);
    const show = (f: HeldOutFigures) => `verifier ${f.verifier.correct}/${f.verifier.n} = ${f.verifier.rate.toFixed(3)}, reward ${f.reward!.value.toFixed(4)}, KL ${f.kl!.kl.toFixed(3)}`;
    console.log(`  held-out (${heldOut.length}, greedy): ${before ? `${show(before)} -> ` : ''}${show(after)}`);
  }
  await saveAlignedModel(out, policy.loaded, 'ppo', checkpoint, run.iteration, policy.tuning);
  console.log(`  wrote ${out}`);
  return 0;
}
