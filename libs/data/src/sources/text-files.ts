import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { TextDocument } from './document.ts';

/**
 * Plain .txt files: one file, or every .txt file in a directory; each file is one document. A document's id is its
 * name inside the corpus (not the full path), so the held-out split, which hashes ids, is the same wherever the
 * corpus lies (a copy in a temporary directory splits like the original).
 */
export async function readTextFiles(path: string): Promise<TextDocument[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new Error(`corpus path ${path} does not exist`);
  }
  const names = info.isDirectory() ? (await readdir(path)).filter((f) => f.endsWith('.txt')).sort() : [basename(path)];
  if (names.length === 0) throw new Error(`corpus directory ${path} holds no .txt files`);
  const fileOf = (name: string) => (info.isDirectory() ? join(path, name) : path);
  const docs = await Promise.all(names.map(async (name) => ({ id: name, text: await readFile(fileOf(name), 'utf8') })));
  return docs.filter((d) => d.text.trim().length > 0);
}
