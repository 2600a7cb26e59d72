import { crc32 } from '@unilab/core';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.ts';
import type { PackedShard } from './sequence-packer.ts';
import type { ShardEntry, TokenDtype } from './shard-format.ts';

/** Token ids as little-endian bytes of the dataset's dtype (typed arrays are little-endian on every target we run). */
export function tokenBytes(tokens: Uint32Array, dtype: TokenDtype): Uint8Array {
  const typed = dtype === 'uint16' ? Uint16Array.from(tokens) : tokens;
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

/** Write one shard's tokens and boundaries atomically; returns its index entry. */
export async function writeShard(dir: string, ordinal: number, shard: PackedShard, dtype: TokenDtype): Promise<ShardEntry> {
  const name = `shard-${String(ordinal).padStart(5, '0')}`;
  const bytes = tokenBytes(shard.tokens, dtype);
  await writeFileAtomic(join(dir, `${name}.bin`), bytes);
  await writeFileAtomic(join(dir, `${name}.docs.bin`), new Uint8Array(shard.segments.buffer, shard.segments.byteOffset, shard.segments.byteLength));
  return {
    file: `${name}.bin`,
    boundaries: `${name}.docs.bin`,
    sequences: shard.sequences,
    documentTokens: shard.documentTokens,
    segments: shard.segments.length / 3,
    crc32: crc32(bytes),
  };
}
