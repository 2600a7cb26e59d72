import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * Node/Deno file adapter: the only place the readers read a file's bytes. A file is read as a stream of chunks so a
 * 1 GB corpus never sits in memory whole. The path is a real path (input-root.ts resolved and checked it), opened
 * with O_NOFOLLOW: if it was swapped for a symbolic link since the check, the open fails instead of following it.
 */
export async function* readFileChunks(realPath: string, chunkBytes = 1 << 16): AsyncGenerator<Uint8Array> {
  const handle = await open(realPath, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
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
