import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Node/Deno file adapter: the only place the readers touch the file system. A file is read as a stream of chunks so a
 * 1 GB corpus never sits in memory whole.
 */
export async function* readFileChunks(path: string, chunkBytes = 1 << 16): AsyncGenerator<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    for (;;) {
      const buffer = new Uint8Array(chunkBytes);
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) return;
      yield bytesRead === chunkBytes ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/**
 * One file, or the files of a directory (recursively, sorted) whose names end in one of `extensions`. Hidden files
 * and folders (a leading dot) are skipped: the pipeline's own work folder may sit inside an input folder.
 */
export async function listInputFiles(path: string, extensions: readonly string[]): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new Error(`input path ${path} does not exist`);
  }
  if (!info.isDirectory()) return [path];
  const out: string[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.name.startsWith('.')) continue;
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await listInputFiles(full, extensions)));
    else if (extensions.some((e) => entry.name.endsWith(e))) out.push(full);
  }
  return out;
}
