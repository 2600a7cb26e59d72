import { readFile } from 'node:fs/promises';

export { writeFileAtomic } from '@unilab/data';

/** Read a whole file, with an error that names what it was meant to be when it is missing or unreadable. */
export async function readFileBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${what} ${path} does not exist` : `cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}
