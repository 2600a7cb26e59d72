import { readBrown } from './brown.ts';
import { readSotu } from './sotu.ts';
import { readTextFiles, type CorpusReadOptions, type CorpusText } from './text-files.ts';

/** The corpora a spec can name: the two bundled npm corpora, or a path to .txt files. */
export const BUNDLED_CORPORA = ['sotu', 'brown'] as const;

/** Read a training corpus; the bundled ones come from installed packages and drop nothing. */
export async function readCorpus(name: string, options: CorpusReadOptions): Promise<CorpusText> {
  if (name === 'sotu') return { documents: await readSotu(), problems: [], dropped: {} };
  if (name === 'brown') return { documents: await readBrown(), problems: [], dropped: {} };
  return readTextFiles(name, options);
}
