import { stat } from 'node:fs/promises';
import { basename, relative } from 'node:path';
import type { ReadProblem } from '../readers/read-item.ts';
import { realRoot } from '../readers/input-root.ts';
import { readFiles } from '../readers/text-files.ts';
import type { TextDocument } from './document.ts';

/** A training corpus read from .txt files: its documents, and every record it dropped (with file, line and why). */
export interface CorpusText {
  documents: TextDocument[];
  /** The first problems met, file names relative to the corpus (so a server's answer never shows its paths). */
  problems: ReadProblem[];
  /** Every dropped record or refused file, by the problem's code. */
  dropped: Record<string, number>;
}

export interface CorpusReadOptions {
  /** A document longer than this is reported and skipped while it streams past, never held whole. */
  maxDocumentBytes: number;
}

/** A corpus document longer than this is skipped unless a spec says otherwise (data.maxDocumentBytes). */
export const DEFAULT_MAX_DOCUMENT_BYTES = 16 << 20;

/** Bytes of each piece a one-file corpus is cut into (at line breaks): several training sequences of context, and
 * enough pieces in a file of a few hundred kilobytes that some can be held out. */
export const CORPUS_PIECE_BYTES = 16 << 10;
const MAX_LISTED_PROBLEMS = 20;

/**
 * Plain .txt files (optionally gzipped) through the same validated streaming reader as `unilab data`: a directory's
 * files (recursively) are one document each, named by their path inside the corpus; a single file is cut into pieces
 * at line breaks, named by where they start in it. So the held-out split, which hashes document names, is the same
 * wherever the corpus lies and whatever a one-file corpus is called. Symbolic links that lead out of the corpus
 * directory, binary, UTF-16 and invalid UTF-8 files, over-long documents and blank records are dropped and reported.
 */
export async function readTextFiles(path: string, options: CorpusReadOptions): Promise<CorpusText> {
  const isFile = (await stat(await realRoot(path, 'corpus path'))).isFile();
  const documents: TextDocument[] = [];
  const problems: ReadProblem[] = [];
  const dropped: Record<string, number> = {};
  const name = (file: string) => (isFile ? basename(file) : relative(path, file));
  const items = readFiles(path, {
    source: 'corpus',
    format: 'txt',
    split: isFile ? { kind: 'pieces', bytes: CORPUS_PIECE_BYTES } : { kind: 'whole' },
    maxDocumentBytes: options.maxDocumentBytes,
  });
  try {
    for await (const item of items) {
      if ('document' in item) {
        const id = isFile ? `line ${item.document.id.slice(item.document.id.lastIndexOf(':') + 1)}` : name(item.document.id);
        documents.push({ id, text: item.document.text });
      } else {
        const p = item.problem;
        dropped[p.code] = (dropped[p.code] ?? 0) + 1;
        if (problems.length < MAX_LISTED_PROBLEMS) problems.push({ ...p, file: name(p.file) });
      }
    }
  } catch (err) {
    throw new Error(`corpus ${path}: ${(err as Error).message.replace(/^input directory \S+ /, 'the directory ')}`);
  }
  return { documents, problems, dropped };
}
