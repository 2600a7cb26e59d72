import { open, type FileHandle } from 'node:fs/promises';

/**
 * Node/Deno adapter: a source's tokenized documents on disk (uint32 ids back to back) with their lengths in memory,
 * so mixing and packing can read them in any proportion without holding the tokens.
 */
export class TokenSpillWriter {
  readonly lengths: number[] = [];
  private buffer = new Uint32Array(1 << 16);
  private used = 0;

  private constructor(private readonly handle: FileHandle) {}

  static async create(path: string): Promise<TokenSpillWriter> {
    return new TokenSpillWriter(await open(path, 'w'));
  }

  async add(ids: ArrayLike<number>): Promise<void> {
    this.lengths.push(ids.length);
    for (let i = 0; i < ids.length; i++) {
      if (this.used === this.buffer.length) await this.flush();
      this.buffer[this.used++] = ids[i];
    }
  }

  async close(): Promise<void> {
    await this.flush();
    await this.handle.close();
  }

  private async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.handle.write(new Uint8Array(this.buffer.buffer, 0, this.used * 4));
    this.used = 0;
  }
}

/** Read the documents of a spill in order, `passes` times over (a repeated source starts again from the first). */
export async function* readTokenSpill(path: string, lengths: readonly number[], documents: number): AsyncGenerator<Uint32Array> {
  let handle: FileHandle | null = null;
  let doc = 0;
  try {
    for (let taken = 0; taken < documents; taken++) {
      if (doc === 0) {
        await handle?.close();
        handle = await open(path, 'r');
      }
      const bytes = new Uint8Array(lengths[doc] * 4);
      let got = 0;
      while (got < bytes.length) {
        const { bytesRead } = await handle!.read(bytes, got, bytes.length - got, null);
        if (bytesRead === 0) throw new Error(`token spill ${path} ends early (document ${doc})`);
        got += bytesRead;
      }
      yield new Uint32Array(bytes.buffer);
      doc = (doc + 1) % lengths.length;
    }
  } finally {
    await handle?.close();
  }
}
