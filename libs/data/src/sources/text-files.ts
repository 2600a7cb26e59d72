import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TextDocument } from './document.ts';

/** Plain .txt files: one file, or every .txt file in a directory; each file is one document. */
export async function readTextFiles(path: string): Promise<TextDocument[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new Error(`corpus path ${path} does not exist`);
  }
  const files = info.isDirectory()
    ? (await readdir(path)).filter((f) => f.endsWith('.txt')).sort().map((f) => join(path, f))
    : [path];
  if (files.length === 0) throw new Error(`corpus directory ${path} holds no .txt files`);
  const docs = await Promise.all(files.map(async (f) => ({ id: f, text: await readFile(f, 'utf8') })));
  return docs.filter((d) => d.text.trim().length > 0);
}
