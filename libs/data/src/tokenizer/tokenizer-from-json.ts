import type { Tokenizer } from '@unilab/core';
import { ByteTokenizer } from './byte-tokenizer.ts';
import { BpeTokenizer } from './bpe-tokenizer.ts';
import { HfByteLevelBpeTokenizer } from './hf-byte-level-bpe.ts';

/**
 * Rebuild any tokenizer this library makes from the JSON its `toJSON` wrote (as stored in checkpoints): the byte
 * tokenizer's `{kind: "byte"}`, or a Hugging Face tokenizer.json of a byte-level BPE model.
 */
export function tokenizerFromJSON(json: Record<string, unknown>): Tokenizer {
  if (json.kind === 'byte') return ByteTokenizer.fromJSON(json);
  if (typeof json.model === 'object' && json.model !== null) {
    // This library's own layout (bytes, then specials, then merges) reads directly; any other byte-level BPE
    // (one trained by Hugging Face's tokenizers) through the renaming reader, whose errors say what it refuses.
    try {
      return BpeTokenizer.fromJSON(json);
    } catch {
      return HfByteLevelBpeTokenizer.fromJSON(json);
    }
  }
  throw new Error(`unknown tokenizer description (neither {"kind": "byte"} nor a tokenizer.json): ${JSON.stringify(json).slice(0, 80)}`);
}
