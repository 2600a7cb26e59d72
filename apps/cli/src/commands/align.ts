import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_DPO_OPTIONS,
  DEFAULT_PREFERENCE_NOISE,
  DEFAULT_REWARD_OPTIONS,
  DEFAULT_SFT_OPTIONS,
  alignmentJsonl,
  comparisons,
  createRewardModel,
  demonstrations,
  headParameters,
  generatedAlignmentData,
  INSTRUCTION_TASK_NAMES,
  loadAlignedModel,
  pairwiseAccuracy,
  prepareDpo,
  responseNll,
  saveAlignedModel,
  saveRewardModel,
  sft,
  trainRewardModel,
} from '@unilab/eval';
import { numberOption, optionChoice, parseArgs, positiveInteger, positiveNumber, type ParsedArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';
import { PPO_USAGE, ppoStage } from './align-ppo.ts';
import { TUNING_USAGE, describeTraining, tuningFromArgs } from './align-tuning.ts';
import { stageInputs, trainingOptions } from './align-files.ts';

const USAGE = [
  'usage: unilab align sft <checkpoint> --data FILE [--held-out FILE] --out CKPT [--epochs 2] [--lr 1e-3] [--batch-size 16] [--seed 1]',
  '  supervised fine-tuning (every weight, or the modules of --lora / --adapter) on {"prompt","response"} lines, the loss on the response only',
  'usage: unilab align dpo <sft-checkpoint> --data FILE [--held-out FILE] --out CKPT [--beta 0.1] [--epochs 1] [--lr 1e-4] [--batch-size 8] [--seed 1]',
  '  DPO from the SFT model (the frozen reference) on {"prompt","chosen","rejected"} lines',
  'usage: unilab align rm <sft-checkpoint> --data FILE [--held-out FILE] --out CKPT [--epochs 2] [--lr 1e-3] [--batch-size 8] [--pooling last|mean] [--seed 1]',
  '  reward model: the network with a scalar head, Bradley-Terry loss on {"prompt","chosen","rejected"} lines; held-out pairwise accuracy',
  PPO_USAGE,
  'usage: unilab align data --out DIR [--train 200] [--held-out 50] (examples per task and split) [--noise 0.2] [--seed 1]',
  '  writes sft-train.jsonl, sft-held-out.jsonl ({"prompt","response"}), pairs-train.jsonl, pairs-held-out.jsonl',
  '  ({"prompt","chosen","rejected"}; training pairs flipped at --noise, held-out pairs ranked by the verifier alone)',
  '  and manifest.json',
  TUNING_USAGE,
].join('\n');


/** `unilab align <stage>`: the alignment pipeline's stages; `data` builds the instruction and preference set. */
export async function alignCommand(argv: string[]): Promise<number> {
  const [stage, ...rest] = argv;
  const args = parseArgs(rest, ['resume']);
  if (stage === 'sft') return sftStage(args);
  if (stage === 'dpo') return dpoStage(args);
  if (stage === 'rm') return rmStage(args);
  if (stage === 'ppo') return ppoStage(args, USAGE);
  if (stage !== 'data') throw new Error(stage ? `unknown stage "${stage}"; the stages are: data, sft, rm, ppo, dpo\n${USAGE}` : USAGE);
  const out = args.options.get('out');
  if (typeof out !== 'string') throw new Error(`--out DIR is required\n${USAGE}`);
  const seed = numberOption(args, 'seed', 1);
  const noise = numberOption(args, 'noise', DEFAULT_PREFERENCE_NOISE);
  // The set an alignment job's `data.generate` builds, written out.
  const set = await generatedAlignmentData({ tasks: [...INSTRUCTION_TASK_NAMES], seed, noise, train: positiveInteger(args, 'train', 200), heldOut: positiveInteger(args, 'held-out', 50) });
  const { tasks } = set;
  const { train, heldOut } = set.demonstrations!;
  const { train: trainPairs, heldOut: heldOutPairs } = set.comparisons!;
  await mkdir(out, { recursive: true });
  const files = {
    'sft-train.jsonl': alignmentJsonl(train),
    'sft-held-out.jsonl': alignmentJsonl(heldOut),
    'pairs-train.jsonl': alignmentJsonl(trainPairs),
    'pairs-held-out.jsonl': alignmentJsonl(heldOutPairs),
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(out, name), text);
  const manifest = {
    seed,
    noiseRate: noise,
    flippedTrainPairs: trainPairs.filter((p) => p.flipped).length,
    tasks: tasks.map((t) => ({ name: t.name, description: t.description, train: t.train.length, heldOut: t.heldOut.length })),
  };
  await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(`unilab align data: ${tasks.length} tasks (${tasks.map((t) => t.name).join(', ')}); ${train.length} train, ${heldOut.length} held-out examples`);
  console.log(`  preference pairs: ${trainPairs.length} train (${manifest.flippedTrainPairs} flipped at noise ${noise}), ${heldOutPairs.length} held-out (verifier-ranked)`);
  console.log(`  wrote ${Object.keys(files).join(', ')}, manifest.json to ${out}`);
  return 0;
}

async function sftStage(args: ParsedArgs): Promise<number> {
  const { checkpoint, out, train: data, heldOut } = await stageInputs(args, USAGE, demonstrations);
  const options = trainingOptions(args, DEFAULT_SFT_OPTIONS);
  const { loaded, trained, tuning } = await loadAlignedModel(checkpoint, await registryFromArgs(args), { tuning: tuningFromArgs(args), loraTargetsField: '--lora-targets' });
  if (tuning) console.log(`  ${describeTraining(trained, loaded.model.params, tuning)}`);
  const before = heldOut ? await responseNll(loaded, heldOut) : null;
  const losses = await sft(loaded, trained, data, options);
  console.log(`unilab align sft: ${data.length} demonstrations, ${losses.length} steps; train loss ${losses[0].toFixed(4)} -> ${losses[losses.length - 1].toFixed(4)} nats/response token`);
  if (heldOut && before !== null) console.log(`  held-out response NLL (${heldOut.length}): ${before.toFixed(4)} -> ${(await responseNll(loaded, heldOut)).toFixed(4)} nats/token`);
  await saveAlignedModel(out, loaded, 'sft', checkpoint, losses.length, tuning);
  console.log(`  wrote ${out}`);
  return 0;
}

async function dpoStage(args: ParsedArgs): Promise<number> {
  const inputs = await stageInputs(args, USAGE, comparisons);
  const { checkpoint, out, train } = inputs;
  const heldOut = inputs.heldOut ?? [];
  const options = { ...trainingOptions(args, DEFAULT_DPO_OPTIONS), beta: positiveNumber(args, 'beta', DEFAULT_DPO_OPTIONS.beta) };
  const { loaded, trained, tuning } = await loadAlignedModel(checkpoint, await registryFromArgs(args), { tuning: tuningFromArgs(args), loraTargetsField: '--lora-targets' });
  if (tuning) console.log(`  ${describeTraining(trained, loaded.model.params, tuning)}`);
  const run = await prepareDpo(loaded, trained, train, heldOut, options);
  const show = (f: { loss: number; accuracy: number; margin: number }) => `loss ${f.loss.toFixed(4)}, preference accuracy ${f.accuracy.toFixed(3)}, reward margin ${f.margin.toFixed(4)}`;
  const before = heldOut.length > 0 ? await run.heldOut() : null;
  const every = Math.max(1, Math.floor(run.totalSteps / 10));
  const steps = await run.train({ onStep: (s, total) => (s.step % every === 0 || s.step === total) && console.log(`  step ${s.step}/${total}: ${show(s)}`) });
  console.log(`unilab align dpo: ${train.length} comparisons, beta ${options.beta}, ${steps.length} steps`);
  if (before) console.log(`  held-out (${heldOut.length}): ${show(before)} -> ${show(await run.heldOut())}`);
  await saveAlignedModel(out, loaded, 'dpo', checkpoint, steps.length, tuning);
  console.log(`  wrote ${out}`);
  return 0;
}

async function rmStage(args: ParsedArgs): Promise<number> {
  const { checkpoint, out, train, heldOut } = await stageInputs(args, USAGE, comparisons);
  const options = trainingOptions(args, DEFAULT_REWARD_OPTIONS);
  const pooling = optionChoice(args, 'pooling', ['last', 'mean'] as const, 'last');
  const { loaded, trained, tuning } = await loadAlignedModel(checkpoint, await registryFromArgs(args), { tuning: tuningFromArgs(args), loraTargetsField: '--lora-targets' });
  const rm = createRewardModel(loaded, options.seed, pooling);
  const all = [...trained, ...headParameters(rm.head)];
  if (tuning) console.log(`  ${describeTraining(all, [...loaded.model.params, ...headParameters(rm.head)], tuning)}`);
  const show = (a: { accuracy: number; ci95: { low: number; high: number } }) => `${a.accuracy.toFixed(3)} [${a.ci95.low.toFixed(3)}, ${a.ci95.high.toFixed(3)}]`;
  const before = heldOut ? await pairwiseAccuracy(rm, heldOut) : null;
  const losses = await trainRewardModel(rm, all, train, options);
  console.log(`unilab align rm: ${train.length} comparisons, ${losses.length} steps; Bradley-Terry loss ${losses[0].toFixed(4)} -> ${losses[losses.length - 1].toFixed(4)}`);
  if (heldOut && before) console.log(`  held-out pairwise accuracy (${heldOut.length}): ${show(before)} -> ${show(await pairwiseAccuracy(rm, heldOut))}`);
  await saveRewardModel(out, rm, loaded, checkpoint, losses.length, tuning);
  console.log(`  wrote ${out}`);
  return 0;
}
