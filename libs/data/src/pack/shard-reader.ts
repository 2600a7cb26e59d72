import { crc32, type Tokenizer } from '@unilab/core';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SHARD_FORMAT, SHARD_FORMAT_VERSION, type ShardIndex } from './shard-format.ts';
import { tokenizerFromJSON } from '../tokenizer/tokenizer-from-json.ts';
import { insideDirectory, linkRefusal } from '../readers/input-root.ts';

/** A prepared dataset read back: its index, its tokenizer, and its documents (EOS removed) as token arrays. */
export interface ShardDataset {
  index: ShardIndex;
  tokenizer: Tokenizer;
  /** The tokenizer.json object, to store in checkpoints. */
  tokenizerJson: Record<string, unknown>;
  /** Every packed document in packing order, without its EOS (objectives add their own special tokens). */
  documents: Int32Array[];
}

async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Error(`${what} ${path} is a ${linkRefusal(err).message.replace(/; refused$/, '')}`);
    throw new Error(code === 'ENOENT' ? `${what} ${path} does not exist` : `cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

export async function readShardIndex(dir: string): Promise<ShardIndex> {
  const path = join(dir, 'index.json');
  const bytes = await readBytes(path, 'dataset index');
  let index: ShardIndex;
  try {
    index = JSON.parse(new TextDecoder().decode(bytes)) as ShardIndex;
  } catch (err) {
    throw new Error(`dataset index ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (index.format !== SHARD_FORMAT || index.version !== SHARD_FORMAT_VERSION)
    throw new Error(`${path} is not a ${SHARD_FORMAT} v${SHARD_FORMAT_VERSION} index (format ${JSON.stringify(index.format)}, version ${index.version})`);
  checkIndexNames(dir, path, index);
  return index;
}

/**
 * Every file an index names must lie inside the dataset's directory: no absolute path, no "..", and no symbolic link
 * that resolves outside (a crafted index.json would otherwise read any file the process may read).
 */
function checkIndexNames(dir: string, path: string, index: ShardIndex): void {
  if (!Array.isArray(index.shards)) throw new Error(`${path}: shards: expected an array of shard entries`);
  insideDirectory(dir, index.tokenizer, `${path}: tokenizer`);
  index.shards.forEach((entry, i) => {
    insideDirectory(dir, entry?.file, `${path}: shards[${i}].file`);
    insideDirectory(dir, entry?.boundaries, `${path}: shards[${i}].boundaries`);
  });
}

/** Token ids of one shard, checked against the index (size and CRC-32). */
export async function readShardTokens(dir: string, index: ShardIndex, ordinal: number): Promise<{ tokens: Uint32Array; segments: Uint32Array }> {
  const entry = index.shards[ordinal];
  const bytes = await readBytes(join(dir, entry.file), 'shard');
  const width = index.dtype === 'uint16' ? 2 : 4;
  if (bytes.length !== entry.sequences * index.seqLen * width)
    throw new Error(`shard ${entry.file} holds ${bytes.length} bytes; the index promises ${entry.sequences} sequences of ${index.seqLen} ${index.dtype}`);
  if (crc32(bytes) !== entry.crc32) throw new Error(`shard ${entry.file} is damaged (CRC-32 mismatch)`);
  const aligned = bytes.slice().buffer;
  const tokens = index.dtype === 'uint16' ? Uint32Array.from(new Uint16Array(aligned)) : new Uint32Array(aligned);
  const seg = await readBytes(join(dir, entry.boundaries), 'shard boundaries');
  if (seg.length !== entry.segments * 12) throw new Error(`boundaries ${entry.boundaries} hold ${seg.length} bytes; expected ${entry.segments * 12}`);
  return { tokens, segments: new Uint32Array(seg.slice().buffer) };
}

/** The dataset's tokenizer and the tokenizer.json object it was read from (checkpoints store the object). */
export async function readShardTokenizer(dir: string, index: ShardIndex): Promise<{ tokenizer: Tokenizer; tokenizerJson: Record<string, unknown> }> {
  const tokenizerPath = join(dir, index.tokenizer);
  let tokenizerJson: Record<string, unknown>;
  try {
    tokenizerJson = JSON.parse(new TextDecoder().decode(await readBytes(tokenizerPath, 'tokenizer'))) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`tokenizer ${tokenizerPath}: ${(err as Error).message}`);
  }
  return { tokenizer: tokenizerFromJSON(tokenizerJson), tokenizerJson };
}

/** Read a whole dataset into memory (small datasets and tests; training streams it with openStreamedShardDataset). */
export async function readShardDataset(dir: string): Promise<ShardDataset> {
  const index = await readShardIndex(dir);
  const { tokenizer, tokenizerJson } = await readShardTokenizer(dir, index);
  const pieces: Uint32Array[][] = Array.from({ length: index.documents }, () => []);
  for (let s = 0; s < index.shards.length; s++) {
    const { tokens, segments } = await readShardTokens(dir, index, s);
    for (let i = 0; i < segments.length; i += 3) {
      const doc = segments[i];
      if (doc >= index.documents) throw new Error(`shard ${index.shards[s].file} names document ${doc}; the index has ${index.documents}`);
      pieces[doc].push(tokens.subarray(segments[i + 1], segments[i + 1] + segments[i + 2]));
    }
  }
  const documents = pieces.map((parts) => {
    const length = parts.reduce((n, p) => n + p.length, 0);
    const out = new Int32Array(Math.max(0, length - 1));
    let o = 0;
    for (const p of parts)
      for (let k = 0; k < p.length && o < out.length; k++) out[o++] = p[k];
    return out;
  });
  return { index, tokenizer, tokenizerJson, documents };
}
