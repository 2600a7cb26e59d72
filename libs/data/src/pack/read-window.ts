import type { ShardFile } from './shard-file.ts';

/**
 * A fixed buffer over one range of one file: reads that fall inside it cost nothing, others refill it from the
 * position asked for. Sequential readers touch each byte once; the buffer is all the file data it ever holds.
 */
export class ReadWindow {
  private readonly buffer: Uint8Array;
  private file: ShardFile | null = null;
  private start = 0;
  private end = 0;

  /** `bytes` should be a multiple of the record size read through it (2 or 4 for tokens, 12 for boundaries). */
  constructor(bytes: number) {
    this.buffer = new Uint8Array(bytes);
  }

  get byteLength(): number {
    return this.buffer.byteLength;
  }

  /** The bytes [position, position + length) of `file`; length must not exceed the window. */
  bytes(file: ShardFile, position: number, length: number): Uint8Array {
    if (length > this.buffer.length) throw new Error(`read of ${length} bytes exceeds the ${this.buffer.length}-byte window`);
    if (file !== this.file || position < this.start || position + length > this.end) {
      const n = Math.min(this.buffer.length, file.byteLength - position);
      if (n < length) throw new Error(`${file.path} holds ${file.byteLength} bytes; a read needs bytes ${position} to ${position + length}`);
      this.file = null;
      file.read(this.buffer.subarray(0, n), position);
      this.file = file;
      this.start = position;
      this.end = position + n;
    }
    return this.buffer.subarray(position - this.start, position - this.start + length);
  }

  /** Forget the file (it is being closed). */
  release(file: ShardFile): void {
    if (this.file === file) this.file = null;
  }
}
