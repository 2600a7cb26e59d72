import type { Tokenizer } from '@unilab/core';
import { ByteTokenizer } from './byte-tokenizer.ts';
import { BpeTokenizer } from './bpe-tokenizer.ts';

/**
 * Rebuild any tokenizer this library makes from the JSON its `toJSON` wrote (as stored in checkpoints): the byte
 * tokenizer's `{kind: "byte"}`, or a Hugging Face tokenizer.json of a byte-level BPE model.
 */
export function tokenizerFromJSON(json: Record<string, unknown>): Tokenizer {
  if (json.kind === 'byte') return ByteTokenizer.fromJSON(json);
  if (typeof json.model === 'object' && json.model !== null) return BpeTokenizer.fromJSON(json);
  throw new Error(`unknown tokenizer description (neither {"kind": "byte"} nor a tokenizer.json): ${JSON.stringify(json).slice(0, 80)}`);
}
