import { join } from 'node:path';
import { ReadWindow } from './read-window.ts';
import { openShardFile, type ShardFile } from './shard-file.ts';
import type { ShardIndex } from './shard-format.ts';

/** What the scan learned about one shard that reading a document out of order needs. */
export interface ShardLayout {
  /** Token positions in the file: sequences × seqLen. */
  tokens: number;
  segments: number;
  /** Length of the first segment: the tail of a document that began in the previous shard, when it continues. */
  firstSegmentLength: number;
  /** The first segment ends a document begun in an earlier shard; that shard's visit reads it. */
  startsWithContinuation: boolean;
  /** The last segment's document goes on in the next shard. */
  continues: boolean;
  /** Non-empty documents begun in earlier shards: where this shard's count for the hold-out rule starts. */
  nonEmptyBefore: number;
}

export interface Segment {
  document: number;
  start: number;
  length: number;
}

export interface OpenShard {
  ordinal: number;
  tokens: ShardFile;
  boundaries: ShardFile;
}

export const SEGMENT_BYTES = 12;

export function tokenWidth(index: ShardIndex): 2 | 4 {
  return index.dtype === 'uint16' ? 2 : 4;
}

/** Open a shard's token and boundaries files, refusing either when its size is not what the index promises. */
export function openShard(dir: string, index: ShardIndex, ordinal: number): OpenShard {
  const entry = index.shards[ordinal];
  const tokens = openShardFile(join(dir, entry.file), 'shard');
  const expected = entry.sequences * index.seqLen * tokenWidth(index);
  if (tokens.byteLength !== expected) {
    tokens.close();
    throw new Error(`shard ${tokens.path} holds ${tokens.byteLength} bytes; the index promises ${entry.sequences} sequences of ${index.seqLen} ${index.dtype} (${expected} bytes)`);
  }
  let boundaries: ShardFile;
  try {
    boundaries = openShardFile(join(dir, entry.boundaries), 'shard boundaries');
  } catch (err) {
    tokens.close();
    throw err;
  }
  if (boundaries.byteLength !== entry.segments * SEGMENT_BYTES) {
    tokens.close();
    boundaries.close();
    throw new Error(`shard boundaries ${boundaries.path} hold ${boundaries.byteLength} bytes; the index promises ${entry.segments} segments (${entry.segments * SEGMENT_BYTES} bytes)`);
  }
  return { ordinal, tokens, boundaries };
}

/**
 * Random access to the documents of a scanned dataset through two fixed read windows (tokens, boundaries), with one
 * shard's files open at a time. A document is addressed by the shard and segment where it begins; its tail in later
 * shards is found from the layout.
 */
export class ShardDocumentReader {
  private readonly tokenWindow: ReadWindow;
  private readonly segmentWindow: ReadWindow;
  private readonly width: 2 | 4;
  private current: OpenShard | null = null;

  constructor(
    private readonly dir: string,
    private readonly index: ShardIndex,
    private readonly layout: readonly ShardLayout[],
    readBytes: number,
  ) {
    this.width = tokenWidth(index);
    this.tokenWindow = new ReadWindow(Math.max(4, readBytes - (readBytes % 4)));
    this.segmentWindow = new ReadWindow(Math.max(SEGMENT_BYTES, readBytes - (readBytes % SEGMENT_BYTES)));
  }

  /** Bytes of the read windows: all the file data the reader holds. */
  get heldBytes(): number {
    return this.tokenWindow.byteLength + this.segmentWindow.byteLength;
  }

  segment(shard: number, k: number): Segment {
    const open = this.open(shard);
    const bytes = this.segmentWindow.bytes(open.boundaries, k * SEGMENT_BYTES, SEGMENT_BYTES);
    const triple = new Uint32Array(bytes.buffer, bytes.byteOffset, 3);
    return { document: triple[0], start: triple[1], length: triple[2] };
  }

  /** Tokens of the document that begins with this segment, EOS included (its tail may lie in later shards). */
  documentLength(shard: number, k: number, segment: Segment): number {
    let length = segment.length;
    for (let s = shard; k === this.layout[s].segments - 1 && this.layout[s].continues; s++, k = 0) length += this.layout[s + 1].firstSegmentLength;
    return length;
  }

  /** The document that begins with this segment, without its EOS; `length` is its documentLength. */
  read(shard: number, segment: Segment, length: number): Int32Array {
    const out = new Int32Array(length - 1);
    let filled = this.copy(shard, segment.start, Math.min(segment.length, out.length), out, 0);
    for (let s = shard + 1; filled < out.length; s++) filled += this.copy(s, 0, Math.min(this.layout[s].firstSegmentLength, out.length - filled), out, filled);
    return out;
  }

  close(): void {
    if (!this.current) return;
    for (const f of [this.current.tokens, this.current.boundaries]) {
      this.tokenWindow.release(f);
      this.segmentWindow.release(f);
      f.close();
    }
    this.current = null;
  }

  private copy(shard: number, start: number, count: number, out: Int32Array, at: number): number {
    const open = this.open(shard);
    const perRead = this.tokenWindow.byteLength / this.width;
    for (let done = 0; done < count; ) {
      const n = Math.min(perRead, count - done);
      const bytes = this.tokenWindow.bytes(open.tokens, (start + done) * this.width, n * this.width);
      out.set(this.width === 2 ? new Uint16Array(bytes.buffer, bytes.byteOffset, n) : new Uint32Array(bytes.buffer, bytes.byteOffset, n), at + done);
      done += n;
    }
    return count;
  }

  private open(shard: number): OpenShard {
    if (this.current?.ordinal !== shard) {
      this.close();
      this.current = openShard(this.dir, this.index, shard);
    }
    return this.current;
  }
}
