import type { Tokenizer } from '@unilab/core';
import { ByteTokenizer } from './byte-tokenizer.ts';
import { BYTE_TO_CHAR } from './byte-level.ts';
import { BpeTokenizer } from './bpe-tokenizer.ts';
import { HfByteLevelBpeTokenizer } from './hf-byte-level-bpe.ts';

/**
 * Rebuild any tokenizer this library makes from the JSON its `toJSON` wrote (as stored in checkpoints): the byte
 * tokenizer's `{kind: "byte"}`, or a Hugging Face tokenizer.json of a byte-level BPE model.
 */
export function tokenizerFromJSON(json: Record<string, unknown>): Tokenizer {
  if (json.kind === 'byte') return ByteTokenizer.fromJSON(json);
  if (typeof json.model === 'object' && json.model !== null) {
    // This library's own layout (bytes at 0..255, specials next, then merges) reads directly, with its checks;
    // any other byte-level BPE (one trained by Hugging Face's tokenizers) through the renaming reader.
    return hasOwnLayout(json) ? BpeTokenizer.fromJSON(json) : HfByteLevelBpeTokenizer.fromJSON(json);
  }
  throw new Error(`unknown tokenizer description (neither {"kind": "byte"} nor a tokenizer.json): ${JSON.stringify(json).slice(0, 80)}`);
}

function hasOwnLayout(json: Record<string, unknown>): boolean {
  const vocab = (json.model as { vocab?: Record<string, number> }).vocab;
  if (!vocab || typeof vocab !== 'object') return true;
  const added = (Array.isArray(json.added_tokens) ? json.added_tokens : []) as { id: number }[];
  const ids = added.map((t) => t.id).sort((a, b) => a - b);
  return BYTE_TO_CHAR.every((c, b) => vocab[c] === b) && ids.every((id, i) => id === 256 + i);
}
