import { readFile } from 'node:fs/promises';
import { parseAlignmentJsonl, type AlignmentRecord } from '@unilab/eval';
import type { ParsedArgs } from '../args.ts';

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
