import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_PREFERENCE_NOISE, alignmentJsonl, instructionTasks, preferencePairs } from '@unilab/eval';
import { numberOption, parseArgs, type ParsedArgs } from '../args.ts';

const USAGE = [
  'usage: unilab align data --out DIR [--train 200] [--held-out 50] (examples per task and split) [--noise 0.2] [--seed 1]',
  '  writes sft-train.jsonl, sft-held-out.jsonl ({"prompt","response"}), pairs-train.jsonl, pairs-held-out.jsonl',
  '  ({"prompt","chosen","rejected"}; training pairs flipped at --noise, held-out pairs ranked by the verifier alone)',
  '  and manifest.json',
].join('\n');

function positiveInteger(args: ParsedArgs, name: string, fallback: number): number {
  const n = numberOption(args, name, fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer, got ${n}`);
  return n;
}

/** `unilab align <stage>`: the alignment pipeline's stages; `data` builds the instruction and preference set. */
export async function alignCommand(argv: string[]): Promise<number> {
  const [stage, ...rest] = argv;
  if (stage !== 'data') throw new Error(stage ? `unknown stage "${stage}"; the stages are: data\n${USAGE}` : USAGE);
  const args = parseArgs(rest);
  const out = args.options.get('out');
  if (typeof out !== 'string') throw new Error(`--out DIR is required\n${USAGE}`);
  const seed = numberOption(args, 'seed', 1);
  const noise = numberOption(args, 'noise', DEFAULT_PREFERENCE_NOISE);
  const tasks = await instructionTasks({ seed, train: positiveInteger(args, 'train', 200), heldOut: positiveInteger(args, 'held-out', 50) });
  const train = tasks.flatMap((t) => t.train);
  const heldOut = tasks.flatMap((t) => t.heldOut);
  const trainPairs = preferencePairs(train, noise, seed);
  const heldOutPairs = preferencePairs(heldOut, 0, seed);
  await mkdir(out, { recursive: true });
  const demos = (es: typeof train) => es.map(({ task, prompt, response }) => ({ task, prompt, response }));
  const files = {
    'sft-train.jsonl': alignmentJsonl(demos(train)),
    'sft-held-out.jsonl': alignmentJsonl(demos(heldOut)),
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
