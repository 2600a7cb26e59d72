import { Rng, type DocumentStream, type TokenDocument } from '@unilab/core';
import { fnv1a } from '../split.ts';
import type { ShardIndex } from './shard-format.ts';
import { ShardDocumentReader } from './shard-documents.ts';
import { isHeldOut, type ShardScan } from './shard-scan.ts';

export interface ShardStreamOptions {
  /** Which documents: the training side or the held-out side of the hold-out rule. */
  split: 'train' | 'heldOut';
  seed: number;
  /** Most bytes of documents (4 per token) held for shuffling; a document longer than this is held alone. */
  windowBytes: number;
  /** Bytes of each of the two read buffers (tokens, boundaries). */
  readBytes: number;
}

/** A DocumentStream over shards that also says how much it holds, to prove its memory bound. */
export interface ShardDocumentStream extends DocumentStream {
  /** Bytes it holds now: its read buffers and the documents of its shuffle window not yet handed out. */
  heldBytes(): number;
  /** The most it has held since it was created. */
  peakHeldBytes(): number;
  /** windowBytes plus the read buffers: what heldBytes stays within while no document exceeds the window. */
  readonly maxHeldBytes: number;
}

/**
 * Where a shuffle window begins: the `segment`-th segment of the `shard`-th shard in the epoch's shard order, and
 * how many of the window's documents were handed out. Plain JSON for checkpoints; seeking re-reads one window.
 */
interface ShardStreamCursor {
  epoch: number;
  shard: number;
  segment: number;
  taken: number;
}

interface Position {
  /** Index into the epoch's shard order (the shard count at the end of the epoch). */
  shard: number;
  segment: number;
  /** Non-empty documents before this one in packing order: the hold-out rule's counter. */
  nonEmpty: number;
}

/**
 * An endless stream of a prepared dataset's documents that reads the shards lazily. Each epoch visits the shards in
 * an order shuffled by (seed, epoch) and reads each one front to back; consecutive documents fill a window of at most
 * `windowBytes`, which is shuffled by (seed, epoch, window start) and handed out. So every epoch yields every document
 * of its side exactly once, and memory is the window plus two read buffers whatever the dataset's size.
 *
 * Why windows rather than a running shuffle buffer (tf.data's): with a running buffer the order depends on the whole
 * history, so a checkpoint would have to store the buffer's contents (or replay the epoch) to resume bit for bit;
 * a window is determined by where it starts, so the cursor is four integers and resuming re-reads one window. The
 * mixing is the same kind: documents move within a window's span, and the shard order moves them across the dataset
 * (a shard holds sequencesPerShard × seqLen tokens, so make the window larger than a shard for full mixing within
 * shards). A document that begins in one shard and ends in a later one belongs to the shard where it begins.
 */
export function createShardDocumentStream(dir: string, index: ShardIndex, scan: ShardScan, options: ShardStreamOptions): ShardDocumentStream {
  const wantHeldOut = options.split === 'heldOut';
  if ((wantHeldOut ? scan.heldOut : scan.train).documents === 0) throw new Error(`dataset ${dir} holds no ${wantHeldOut ? 'held-out' : 'training'} documents`);
  if (!(options.windowBytes > 0)) throw new Error(`shard stream: windowBytes must be > 0, got ${options.windowBytes}`);
  const reader = new ShardDocumentReader(dir, index, scan.layout, options.readBytes);
  const { layout } = scan;
  const count = layout.length;
  const shardOrder = (epoch: number) => new Rng(fnv1a(`${options.seed}/${epoch}`)).shuffle(Array.from({ length: count }, (_, i) => i));

  let epoch = 0;
  let order = shardOrder(0);
  let start: Position = epochStart(layout, order);
  let window: (Int32Array | null)[] = [];
  let taken = 0;
  let end: Position | null = null;
  let windowBytes = 0;
  let peak = reader.heldBytes;

  function fill(): void {
    window = [];
    windowBytes = 0;
    const read = readWindow(reader, scan, order, start, options);
    window = read.window;
    windowBytes = read.bytes;
    peak = Math.max(peak, read.peak);
    new Rng(fnv1a(`${options.seed}/${epoch}/${start.shard}/${start.segment}`)).shuffle(window);
    end = read.end;
  }

  return {
    next(): TokenDocument {
      for (;;) {
        if (end === null) {
          fill();
          if (taken > window.length) throw new Error(`shard stream: cursor takes ${taken} documents of a window of ${window.length}`);
        }
        if (taken < window.length) {
          const tokens = window[taken]!;
          window[taken++] = null;
          windowBytes -= tokens.byteLength;
          return { tokens };
        }
        if (end!.shard >= count) {
          epoch++;
          order = shardOrder(epoch);
          start = epochStart(layout, order);
        } else {
          start = end!;
        }
        taken = 0;
        end = null;
      }
    },
    cursor: (): ShardStreamCursor => ({ epoch, shard: start.shard, segment: start.segment, taken }),
    seek(c: unknown) {
      const cursor = checkCursor(c, index, layout, shardOrder);
      epoch = cursor.epoch;
      order = shardOrder(epoch);
      start = cursorPosition(reader, layout, order, cursor);
      taken = cursor.taken;
      window = [];
      windowBytes = 0;
      end = null;
    },
    heldBytes: () => reader.heldBytes + windowBytes,
    peakHeldBytes: () => peak,
    maxHeldBytes: options.windowBytes + reader.heldBytes,
  };
}

type ShardLayout = ShardScan['layout'];

/** The first segment a shard owns: a segment continuing the previous shard's last document belongs to that shard. */
const firstOwned = (layout: ShardLayout, shard: number) => (layout[shard].startsWithContinuation ? 1 : 0);

/** Where an epoch in `order` begins. */
function epochStart(layout: ShardLayout, order: readonly number[]): Position {
  return normalise(layout, order, { shard: 0, segment: firstOwned(layout, order[0]), nonEmpty: layout[order[0]].nonEmptyBefore });
}

/** Move past shards with no segment left to begin a document. */
function normalise(layout: ShardLayout, order: readonly number[], p: Position): Position {
  while (p.shard < layout.length && p.segment >= layout[order[p.shard]].segments) {
    p.shard++;
    if (p.shard < layout.length) {
      p.segment = firstOwned(layout, order[p.shard]);
      p.nonEmpty = layout[order[p.shard]].nonEmptyBefore;
    }
  }
  return p;
}

/**
 * The documents of this side from `start` on, in order, until the next would take the window past windowBytes (a
 * window holds at least one); where the next window starts, and the most held while reading.
 */
function readWindow(reader: ShardDocumentReader, scan: ShardScan, order: readonly number[], start: Position, options: ShardStreamOptions) {
  const wantHeldOut = options.split === 'heldOut';
  const p = { ...start };
  const window: (Int32Array | null)[] = [];
  let bytes = 0;
  let peak = 0;
  try {
    while (p.shard < scan.layout.length) {
      const shard = order[p.shard];
      const segment = reader.segment(shard, p.segment);
      const length = reader.documentLength(shard, p.segment, segment);
      if (length > 1) {
        if (isHeldOut(scan.holdOut, segment.document, p.nonEmpty) === wantHeldOut) {
          const size = (length - 1) * 4;
          if (window.length > 0 && bytes + size > options.windowBytes) break;
          window.push(reader.read(shard, segment, length));
          bytes += size;
          peak = Math.max(peak, reader.heldBytes + bytes);
        }
        p.nonEmpty++;
      }
      p.segment++;
      normalise(scan.layout, order, p);
    }
  } finally {
    // No file stays open between calls: a stream that is dropped leaks nothing.
    reader.close();
  }
  return { window, bytes, end: p, peak };
}

function checkCursor(c: unknown, index: ShardIndex, layout: ShardLayout, shardOrder: (epoch: number) => number[]): ShardStreamCursor {
  const { epoch, shard, segment, taken } = (c ?? {}) as Partial<ShardStreamCursor>;
  const valid = [epoch, shard, segment, taken].every((v) => Number.isInteger(v) && v! >= 0) && shard! < layout.length;
  if (!valid) throw new Error(`shard stream: invalid cursor ${JSON.stringify(c)}; expected {epoch, shard, segment, taken} within ${layout.length} shards`);
  const s = shardOrder(epoch!)[shard!];
  if (segment! < firstOwned(layout, s) || segment! > layout[s].segments)
    throw new Error(`shard stream: cursor segment ${segment} is outside shard ${index.shards[s].file}'s ${layout[s].segments} segments`);
  return { epoch: epoch!, shard: shard!, segment: segment!, taken: taken! };
}

/** The position a (checked) cursor names, with the hold-out counter there: the shard's start plus its non-empty documents before the segment. */
function cursorPosition(reader: ShardDocumentReader, layout: ShardLayout, order: readonly number[], cursor: ShardStreamCursor): Position {
  const s = order[cursor.shard];
  let nonEmpty = layout[s].nonEmptyBefore;
  try {
    for (let k = firstOwned(layout, s); k < cursor.segment; k++) if (reader.segment(s, k).length > 1) nonEmpty++;
  } finally {
    reader.close();
  }
  return normalise(layout, order, { shard: cursor.shard, segment: cursor.segment, nonEmpty });
}
