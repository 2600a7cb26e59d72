import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { linkRefusal } from '../readers/input-root.ts';

/**
 * Node/Deno adapter: one file of a prepared dataset, open for positional reads. The reads are synchronous because a
 * DocumentStream's next() is: the training step waits for its batch anyway, and one window is one system call.
 */
export interface ShardFile {
  readonly path: string;
  readonly byteLength: number;
  /** Fill `into` with the file's bytes from `position`; a file that ends first is an error naming it. */
  read(into: Uint8Array, position: number): void;
  close(): void;
}

/** Open a dataset file; `what` names it in errors ("shard", "shard boundaries"). */
export function openShardFile(path: string, what: string): ShardFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Error(`${what} ${path} is a ${linkRefusal(err).message.replace(/; refused$/, '')}`);
    throw new Error(code === 'ENOENT' ? `${what} ${path} does not exist` : `cannot open ${what} ${path}: ${(err as Error).message}`);
  }
  return {
    path,
    byteLength: fstatSync(fd).size,
    read(into, position) {
      for (let got = 0; got < into.length; ) {
        const n = readSync(fd, into, got, into.length - got, position + got);
        if (n === 0) throw new Error(`${what} ${path} ends at byte ${position + got}, before byte ${position + into.length} (truncated while being read?)`);
        got += n;
      }
    },
    close: () => closeSync(fd),
  };
}
