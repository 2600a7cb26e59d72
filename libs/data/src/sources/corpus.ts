import type { TextDocument } from './document.ts';
import { readBrown } from './brown.ts';
import { readSotu } from './sotu.ts';
import { readTextFiles } from './text-files.ts';

/** The corpora a spec can name: the two bundled npm corpora, or a path to .txt files. */
export const BUNDLED_CORPORA = ['sotu', 'brown'] as const;

export async function readCorpus(name: string): Promise<TextDocument[]> {
  if (name === 'sotu') return readSotu();
  if (name === 'brown') return readBrown();
  return readTextFiles(name);
}
