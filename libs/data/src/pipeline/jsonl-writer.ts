import { open, type FileHandle } from 'node:fs/promises';

/** Node/Deno adapter: append JSON lines to a file through a buffer (the pipeline's spill of filtered documents). */
export class JsonlWriter {
  private pending: string[] = [];
  private pendingChars = 0;
  lines = 0;

  private constructor(private readonly handle: FileHandle) {}

  static async create(path: string): Promise<JsonlWriter> {
    return new JsonlWriter(await open(path, 'w'));
  }

  async write(value: unknown): Promise<void> {
    const line = JSON.stringify(value);
    this.pending.push(line);
    this.pendingChars += line.length + 1;
    this.lines++;
    if (this.pendingChars > 1 << 20) await this.flush();
  }

  async close(): Promise<void> {
    await this.flush();
    await this.handle.close();
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    await this.handle.write(this.pending.join('\n') + '\n');
    this.pending = [];
    this.pendingChars = 0;
  }
}
