import { crc32 } from '@unilab/core';
import { fnv1a } from '../split.ts';
import { entropyOfCounts } from '../unigram.ts';
import type { ShardIndex } from './shard-format.ts';
import { SEGMENT_BYTES, ShardDocumentReader, openShard, tokenWidth, type OpenShard, type ShardLayout } from './shard-documents.ts';

/**
 * Which documents are held out for evaluation: the rule prepared datasets have always used. Empty documents belong
 * to neither side; the i-th non-empty document is held out when fnv1a(`doc-${i}`) / 2^32 < fraction, and when that
 * holds out none of a small dataset, its last non-empty document is held out instead.
 */
export interface HoldOutRule {
  fraction: number;
  /** The document held out because the hash held out none, or null. */
  fallback: number | null;
}

export function isHeldOut(rule: HoldOutRule, document: number, nonEmptyIndex: number): boolean {
  return document === rule.fallback || fnv1a(`doc-${nonEmptyIndex}`) / 4294967296 < rule.fraction;
}

export interface SplitCount {
  documents: number;
  /** Tokens of the documents without their EOS (what objectives are given). */
  tokens: number;
}

export interface ShardScan {
  layout: ShardLayout[];
  holdOut: HoldOutRule;
  train: SplitCount;
  heldOut: SplitCount;
  /** Unigram entropy (nats) of the training documents' tokens: the loss to beat. */
  unigramEntropy: number;
}

/**
 * One streaming pass over a prepared dataset before training reads it: every shard's size and CRC-32 are checked
 * against the index and its boundaries against each other, documents are split into training and held-out by the
 * hold-out rule, and the training tokens' unigram counts give the entropy the runner reports. It holds one read
 * window and one count per vocabulary entry, whatever the dataset's size.
 */
export function scanShards(dir: string, index: ShardIndex, options: { heldOutFraction: number; readBytes: number }): ShardScan {
  const layout = shardEnds(dir, index);
  const width = tokenWidth(index);
  const chunk = new Uint8Array(Math.max(SEGMENT_BYTES * width, options.readBytes - (options.readBytes % (SEGMENT_BYTES * width))));
  const counts = new Float64Array(index.vocabSize);
  const train: SplitCount = { documents: 0, tokens: 0 };
  const heldOut: SplitCount = { documents: 0, tokens: 0 };
  const rule: HoldOutRule = { fraction: options.heldOutFraction, fallback: null };
  let nonEmpty = 0;
  // The last non-empty document: held out instead when the hash holds out none.
  let last = null as { shard: number; k: number; document: number } | null;
  // Where the document being read goes (null: nowhere, it is empty). It carries across shards with the document.
  let side = null as SplitCount | null;
  for (let s = 0; s < index.shards.length; s++) {
    layout[s].nonEmptyBefore = nonEmpty;
    const open = openShard(dir, index, s);
    try {
      const segments = segmentReader(open, layout[s].tokens, chunk.length);
      let k = 0;
      let segment = layout[s].segments > 0 ? segments(0) : null;
      let crc = 0;
      // A segment that begins a document decides where the document goes; a shard's continued first one does not.
      const beginDocument = (): void => {
        if (!segment) return;
        const continued = k === 0 && layout[s].startsWithContinuation;
        if (continued) return;
        const goesOn = k === layout[s].segments - 1 && layout[s].continues;
        if (segment.length < 2 && !goesOn) {
          side = null;
          return;
        }
        side = isHeldOut(rule, segment.document, nonEmpty) ? heldOut : train;
        side.documents++;
        last = { shard: s, k, document: segment.document };
        nonEmpty++;
      };
      beginDocument();
      for (let position = 0; position < layout[s].tokens; position += chunk.length / width) {
        const n = Math.min(chunk.length / width, layout[s].tokens - position);
        const bytes = chunk.subarray(0, n * width);
        open.tokens.read(bytes, position * width);
        crc = crc32(bytes, crc);
        const ids = width === 2 ? new Uint16Array(bytes.buffer, 0, n) : new Uint32Array(bytes.buffer, 0, n);
        while (segment && segment.start < position + n) {
          const from = Math.max(segment.start, position);
          const to = Math.min(segment.start + segment.length, position + n);
          if (side) side.tokens += to - from;
          if (side === train) for (let t = from; t < to; t++) counts[ids[t - position]]++;
          if (segment.start + segment.length > position + n) break;
          segment = ++k < layout[s].segments ? segments(k) : null;
          beginDocument();
        }
      }
      if (crc !== index.shards[s].crc32) throw new Error(`shard ${open.tokens.path} is damaged: its CRC-32 is ${crc}, the index says ${index.shards[s].crc32}`);
    } finally {
      open.tokens.close();
      open.boundaries.close();
    }
  }
  // Each document's count included its EOS: objectives see documents without it.
  train.tokens -= train.documents;
  heldOut.tokens -= heldOut.documents;
  counts[index.eos] -= train.documents;
  const fallback = last;
  if (options.heldOutFraction > 0 && heldOut.documents === 0 && train.documents > 1 && fallback) {
    rule.fallback = fallback.document;
    const reader = new ShardDocumentReader(dir, index, layout, options.readBytes);
    try {
      const segment = reader.segment(fallback.shard, fallback.k);
      const tokens = reader.read(fallback.shard, segment, reader.documentLength(fallback.shard, fallback.k, segment));
      for (const t of tokens) counts[t]--;
      train.documents--;
      train.tokens -= tokens.length;
      heldOut.documents++;
      heldOut.tokens += tokens.length;
    } finally {
      reader.close();
    }
  }
  return { layout, holdOut: rule, train, heldOut, unigramEntropy: entropyOfCounts(counts) };
}

/** Sequential segment reads of one shard through a buffer of `bytes` (a multiple of 12). */
function segmentReader(open: OpenShard, tokens: number, bytes: number): (k: number) => { document: number; start: number; length: number } {
  const buffer = new Uint8Array(bytes);
  const perRead = bytes / SEGMENT_BYTES;
  let first = -1;
  let triples = new Uint32Array(0);
  let expectedStart = 0;
  let previous = -1;
  return (k) => {
    if (first < 0 || k >= first + triples.length / 3) {
      const n = Math.min(perRead, open.boundaries.byteLength / SEGMENT_BYTES - k);
      open.boundaries.read(buffer.subarray(0, n * SEGMENT_BYTES), k * SEGMENT_BYTES);
      triples = new Uint32Array(buffer.buffer, 0, n * 3);
      first = k;
    }
    const i = (k - first) * 3;
    const segment = { document: triples[i], start: triples[i + 1], length: triples[i + 2] };
    if (segment.start !== expectedStart || segment.length === 0 || segment.start + segment.length > tokens)
      throw new Error(`shard boundaries ${open.boundaries.path}: segment ${k} (${segment.start}+${segment.length}) does not follow the previous one at ${expectedStart} within the shard's ${tokens} tokens`);
    if (k > 0 && segment.document !== previous + 1)
      throw new Error(`shard boundaries ${open.boundaries.path}: segment ${k} is document ${segment.document}; ${previous + 1} comes next in packing order`);
    expectedStart = segment.start + segment.length;
    previous = segment.document;
    return segment;
  };
}

/**
 * The first and last segment of every shard (two small reads each): whether a document runs from one shard into
 * the next, which the sequential pass needs before it meets the document's first segment.
 */
function shardEnds(dir: string, index: ShardIndex): ShardLayout[] {
  const triple = new Uint8Array(SEGMENT_BYTES);
  const read = (open: OpenShard, k: number) => {
    open.boundaries.read(triple, k * SEGMENT_BYTES);
    const t = new Uint32Array(triple.buffer);
    return { document: t[0], length: t[2] };
  };
  const ends = index.shards.map((entry, s) => {
    const open = openShard(dir, index, s);
    try {
      if (entry.segments === 0) return { first: null, last: null };
      return { first: read(open, 0), last: read(open, entry.segments - 1) };
    } finally {
      open.tokens.close();
      open.boundaries.close();
    }
  });
  let expected = 0;
  const layout = index.shards.map((entry, s): ShardLayout => {
    const { first, last } = ends[s];
    const previous = s > 0 ? ends[s - 1].last : null;
    const next = s + 1 < ends.length ? ends[s + 1].first : null;
    const startsWithContinuation = first !== null && previous !== null && first.document === previous.document;
    if (first && !startsWithContinuation && first.document !== expected)
      throw new Error(`shard boundaries ${entry.boundaries}: the first document is ${first.document}; ${expected} comes next in packing order`);
    if (last) {
      if (last.document >= index.documents) throw new Error(`shard boundaries ${entry.boundaries} name document ${last.document}; the index has ${index.documents}`);
      expected = last.document + 1;
    }
    return {
      tokens: entry.sequences * index.seqLen,
      segments: entry.segments,
      firstSegmentLength: first?.length ?? 0,
      startsWithContinuation,
      continues: last !== null && next !== null && next.document === last.document,
      nonEmptyBefore: 0,
    };
  });
  if (expected !== index.documents) throw new Error(`the shards in ${dir} hold ${expected} documents; its index counts ${index.documents}`);
  return layout;
}
