import type { TextDocument } from './document.ts';
import { readBrown } from './brown.ts';
import { readSotu } from './sotu.ts';
import { DEFAULT_MAX_DOCUMENT_BYTES, readTextFiles, type CorpusReadOptions, type CorpusText } from './text-files.ts';

/** The corpora a spec can name: the two bundled npm corpora, or a path to .txt files. */
export const BUNDLED_CORPORA = ['sotu', 'brown'] as const;

/**
 * Read a training corpus and what its reader dropped; the bundled corpora come from installed packages and drop
 * nothing.
 */
export async function readCorpusText(name: string, options: CorpusReadOptions = { maxDocumentBytes: DEFAULT_MAX_DOCUMENT_BYTES }): Promise<CorpusText> {
  if (name === 'sotu') return { documents: await readSotu(), problems: [], dropped: {} };
  if (name === 'brown') return { documents: await readBrown(), problems: [], dropped: {} };
  return readTextFiles(name, options);
}

/** The documents of a training corpus, as training reads them (so a split of them is the training split). */
export async function readCorpus(name: string, options?: CorpusReadOptions): Promise<TextDocument[]> {
  return (await readCorpusText(name, options)).documents;
}
