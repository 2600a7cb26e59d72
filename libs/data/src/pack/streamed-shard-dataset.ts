import type { Tokenizer } from '@unilab/core';
import type { ShardIndex } from './shard-format.ts';
import { readShardIndex, readShardTokenizer } from './shard-reader.ts';
import { scanShards, type ShardScan } from './shard-scan.ts';
import { createShardDocumentStream, type ShardDocumentStream } from './shard-stream.ts';

/** Bytes of each read buffer: large enough that a read is one system call per 32K tokens, small beside a window. */
export const DEFAULT_READ_BYTES = 64 << 10;

/** A prepared dataset opened for training: checked, counted and split by one pass, its documents read as streams. */
export interface StreamedShardDataset {
  dir: string;
  index: ShardIndex;
  tokenizer: Tokenizer;
  /** The tokenizer.json object, to store in checkpoints. */
  tokenizerJson: Record<string, unknown>;
  /** Document and token counts of each side, the training tokens' unigram entropy, and the layout the streams use. */
  scan: ShardScan;
  /** A stream over one side's documents, shuffled by seed, holding at most windowBytes of documents. */
  stream(split: 'train' | 'heldOut', seed: number, windowBytes: number): ShardDocumentStream;
}

/**
 * Open a dataset prepared by `unilab data` for streaming: read its index and tokenizer, then scan it once (sizes,
 * CRC-32s, boundaries, the hold-out split, counts). Nothing of the shards is kept but their layout.
 */
export async function openStreamedShardDataset(dir: string, options: { heldOutFraction: number; readBytes?: number }): Promise<StreamedShardDataset> {
  const readBytes = options.readBytes ?? DEFAULT_READ_BYTES;
  const index = await readShardIndex(dir);
  const { tokenizer, tokenizerJson } = await readShardTokenizer(dir, index);
  const scan = scanShards(dir, index, { heldOutFraction: options.heldOutFraction, readBytes });
  return {
    dir,
    index,
    tokenizer,
    tokenizerJson,
    scan,
    stream: (split, seed, windowBytes) => createShardDocumentStream(dir, index, scan, { split, seed, windowBytes, readBytes }),
  };
}
