/**
 * The on-disk layout of a prepared dataset (one directory):
 *   index.json                 this ShardIndex, written last and atomically: a dataset without it is unfinished
 *   tokenizer.json             the Hugging Face tokenizer the tokens were made with
 *   shard-00000.bin            sequences × seqLen tokens, little-endian uint16 or uint32
 *   shard-00000.docs.bin       uint32 triples (document, start, length): one per document segment in the shard
 *
 * Documents are packed back to back, each followed by EOS; a document may run across sequence and shard ends, and
 * then has one segment in each shard. The last sequence is filled with PAD, which belongs to no document.
 */
export const SHARD_FORMAT = 'unilab-shards';
export const SHARD_FORMAT_VERSION = 1;

export type TokenDtype = 'uint16' | 'uint32';

export interface ShardEntry {
  file: string;
  boundaries: string;
  sequences: number;
  /** Tokens that belong to documents (EOS included, PAD excluded). */
  documentTokens: number;
  segments: number;
  /** CRC-32 of the token file's bytes. */
  crc32: number;
}

/** One mixture member's part of the packed tokens: a source's, or a mixture component's. */
export interface SourceShare {
  documents: number;
  /** Realised document tokens (EOS included). */
  tokens: number;
  /** Tokens the weight asks for, and the whole documents the plan chose to come nearest it. */
  targetTokens: number;
  plannedTokens: number;
  /** Wanted share of the document tokens (the mixture weight, normalised). */
  target: number;
  /** Realised share. */
  share: number;
  /** How many times the member's documents were used on average (> 1 when a small one is repeated). */
  epochs: number;
  /** Packed documents (repeats included) per language label; empty when no language-ID stage labelled them. */
  languages: Record<string, number>;
}

export interface ShardIndex {
  format: typeof SHARD_FORMAT;
  version: typeof SHARD_FORMAT_VERSION;
  dtype: TokenDtype;
  seqLen: number;
  vocabSize: number;
  eos: number;
  pad: number;
  tokenizer: string;
  documents: number;
  documentTokens: number;
  padTokens: number;
  sequences: number;
  shards: ShardEntry[];
  sources: Record<string, SourceShare>;
}

export function dtypeFor(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? 'uint16' : 'uint32';
}
