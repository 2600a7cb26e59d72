import { readFile } from 'node:fs/promises';
import { parseAlignmentJsonl, type AlignmentRecord } from '@unilab/eval';
import { numberOption, positiveInteger, positiveNumber, type ParsedArgs } from '../args.ts';

/** A path option the stage cannot run without. */
export function requiredPath(args: ParsedArgs, name: string, usage: string): string {
  const v = args.options.get(name);
  if (typeof v !== 'string') throw new Error(`--${name} FILE is required\n${usage}`);
  return v;
}

/** The records of an alignment JSONL file, every line validated (errors name the file and line). */
export async function records(path: string): Promise<AlignmentRecord[]> {
  return parseAlignmentJsonl(await readFile(path, 'utf8'), path);
}

/** What every training stage of `unilab align` reads: the model it starts from, its data, held-out data, where to write. */
export interface StageInputs<T> {
  checkpoint: string;
  out: string;
  train: T[];
  /** The --held-out file's examples, or null without one. */
  heldOut: T[] | null;
}

/** A stage's positional checkpoint, --data, --held-out and --out, each file's records read by `pick`. */
export async function stageInputs<T>(args: ParsedArgs, usage: string, pick: (records: AlignmentRecord[], path: string) => T[]): Promise<StageInputs<T>> {
  const checkpoint = args.positionals[0];
  if (!checkpoint) throw new Error(usage);
  const dataPath = requiredPath(args, 'data', usage);
  const out = requiredPath(args, 'out', usage);
  const train = pick(await records(dataPath), dataPath);
  const heldOutPath = args.options.get('held-out');
  const heldOut = typeof heldOutPath === 'string' ? pick(await records(heldOutPath), heldOutPath) : null;
  return { checkpoint, out, train, heldOut };
}

/** The options every stage's optimisation shares (--lr, --epochs, --batch-size, --seed), over the stage's defaults. */
export function trainingOptions<O extends { lr: number; epochs: number; batchSize: number; seed: number }>(args: ParsedArgs, defaults: O): O {
  return {
    ...defaults,
    lr: positiveNumber(args, 'lr', defaults.lr),
    epochs: positiveInteger(args, 'epochs', defaults.epochs),
    batchSize: positiveInteger(args, 'batch-size', defaults.batchSize),
    seed: numberOption(args, 'seed', defaults.seed),
  };
}
