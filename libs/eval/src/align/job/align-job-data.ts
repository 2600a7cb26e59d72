import { readFile } from 'node:fs/promises';
import { comparisons, demonstrations, parseAlignmentJsonl, type ComparisonRecord, type Demonstration } from '../alignment-jsonl.ts';
import type { InstructionTask } from '../instruction-task.ts';
import { instructionTasks } from '../instruction-tasks.ts';
import { preferencePairs } from '../preference-pairs.ts';
import type { AlignmentData, GeneratedData } from './align-job-spec.ts';

/**
 * The demonstrations and comparisons an alignment job trains and is judged on: the set `unilab align data` builds
 * (generated from the bundled corpora, with its tasks' verifiers) or the user's JSONL files.
 */
export interface AlignmentDataSet {
  demonstrations: { train: Demonstration[]; heldOut: Demonstration[] } | null;
  comparisons: { train: ComparisonRecord[]; heldOut: ComparisonRecord[] } | null;
  /** The tasks with their verifiers (generated sets only). */
  tasks: InstructionTask[] | null;
}

/** The generated set, as `unilab align data` writes it: training comparisons flipped at `noise`, held-out ones ranked by the verifier. */
export async function generatedAlignmentData(g: GeneratedData): Promise<AlignmentDataSet & { tasks: InstructionTask[] }> {
  const tasks = (await instructionTasks({ seed: g.seed, train: g.train, heldOut: g.heldOut })).filter((t) => g.tasks.includes(t.name));
  const train = tasks.flatMap((t) => t.train);
  const heldOut = tasks.flatMap((t) => t.heldOut);
  const demos = (es: typeof train) => es.map(({ task, prompt, response }) => ({ task, prompt, response }));
  return {
    demonstrations: { train: demos(train), heldOut: demos(heldOut) },
    comparisons: { train: preferencePairs(train, g.noise, g.seed), heldOut: preferencePairs(heldOut, 0, g.seed) },
    tasks,
  };
}

export async function loadAlignmentData(data: AlignmentData): Promise<AlignmentDataSet> {
  if ('generate' in data) return generatedAlignmentData(data.generate);
  const read = async (path: string) => parseAlignmentJsonl(await readFile(path, 'utf8'), path);
  const { sft, pairs } = data.files;
  return {
    demonstrations: sft ? { train: demonstrations(await read(sft.train), sft.train), heldOut: demonstrations(await read(sft.heldOut), sft.heldOut) } : null,
    comparisons: pairs ? { train: comparisons(await read(pairs.train), pairs.train), heldOut: comparisons(await read(pairs.heldOut), pairs.heldOut) } : null,
    tasks: null,
  };
}

/**
 * How many training records of each kind a generated set holds, without building it (for a job's step count at
 * submission): every task gives exactly `train` examples within the spec's limits.
 */
export function generatedCounts(g: GeneratedData): { demonstrations: number; comparisons: number } {
  return { demonstrations: g.tasks.length * g.train, comparisons: g.tasks.length * g.train };
}
