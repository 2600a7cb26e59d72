import type { Tokenizer } from '@unilab/core';
import { BYTE_TO_CHAR, byteLevelToBytes } from './byte-level.ts';
import { BpeTokenizer } from './bpe-tokenizer.ts';

/**
 * Names unilab's objectives look special tokens up by ("eos", "pad"), for tokenizers that spell them otherwise: the
 * first of these contents present is taken. A tokenizer with an end token but no padding token pads with its end
 * token, as GPT-2's users do; padded positions carry no loss, so the id only has to exist.
 */
const EOS_SPELLINGS = ['<|eos|>', '<|endoftext|>', '</s>', '<eos>', '<|end_of_text|>', '<|im_end|>'];
const PAD_SPELLINGS = ['<|pad|>', '<pad>', '<|padding|>'];

interface AddedToken {
  id: number;
  content: string;
  special?: boolean;
}

const utf8 = new TextEncoder();
const lenient = new TextDecoder('utf-8');

/**
 * A byte-level BPE tokenizer.json as Hugging Face's `tokenizers` writes it (ByteLevelBPETokenizer, or the BPE model
 * with a ByteLevel pre-tokenizer), whatever its id layout: added tokens at any ids, the 256 byte characters and merge
 * results numbered as its trainer chose, merges as "a b" strings or [a, b] pairs. Encoding runs unilab's BPE
 * (BpeTokenizer) in its own id layout and renames the ids through the file's vocabulary, so it is the same
 * lowest-rank-first merging; `toJSON` gives the file back unchanged.
 *
 * Special tokens: as in BpeTokenizer, plain text never encodes to one (a "<|endoftext|>" typed in a prompt is
 * text); `tokenizers` instead splits added tokens out of the text first. The objectives insert specials by id.
 */
export class HfByteLevelBpeTokenizer implements Tokenizer {
  readonly kind = 'bpe';
  readonly vocabSize: number;
  readonly specialTokens: Readonly<Record<string, number>>;

  private constructor(
    private readonly json: Record<string, unknown>,
    private readonly inner: BpeTokenizer,
    /** The file's id of each of the inner tokenizer's ids (-1: the inner placeholders for eos and pad). */
    private readonly outerOf: Int32Array,
    /** Bytes of each of the file's ids (specials: their content), null where the file has no token. */
    private readonly bytesOf: (Uint8Array | null)[],
    specialTokens: Record<string, number>,
  ) {
    this.vocabSize = bytesOf.length;
    this.specialTokens = specialTokens;
  }

  static fromJSON(json: Record<string, unknown>): HfByteLevelBpeTokenizer {
    const fail = (why: string): never => {
      throw new Error(`tokenizer.json: ${why}`);
    };
    const model = json.model as Record<string, unknown> | undefined;
    if (!model || model.type !== 'BPE') fail(`expected model.type "BPE", got ${JSON.stringify(model?.type)}`);
    const pre = json.pre_tokenizer as { type?: string; add_prefix_space?: boolean; use_regex?: boolean } | null;
    if (pre?.type !== 'ByteLevel') fail(`expected a ByteLevel pre_tokenizer, got ${JSON.stringify(pre?.type ?? null)}`);
    if (pre!.add_prefix_space === true) fail('pre_tokenizer.add_prefix_space true is not supported (unilab does not prepend a space)');
    if (pre!.use_regex === false) fail('pre_tokenizer.use_regex false is not supported (unilab always splits with the GPT-2 pattern)');
    if (json.normalizer != null) fail(`normalizer ${JSON.stringify((json.normalizer as { type?: string }).type)} is not supported (need null)`);
    if (model!.byte_fallback === true) fail('model.byte_fallback true is not a byte-level BPE');
    if (model!.dropout != null) fail('model.dropout is set: BPE dropout samples encodings; need null');
    for (const field of ['continuing_subword_prefix', 'end_of_word_suffix'])
      if (model![field] != null && model![field] !== '') fail(`model.${field} ${JSON.stringify(model![field])} is not supported (need null)`);
    const vocab = (model!.vocab ?? fail('model.vocab is missing')) as Record<string, number>;
    const added = (Array.isArray(json.added_tokens) ? json.added_tokens : []) as AddedToken[];
    for (const t of added) {
      if (!Number.isInteger(t.id) || t.id < 0) fail(`added token ${JSON.stringify(t.content)} has id ${JSON.stringify(t.id)}`);
      if (t.special === false)
        fail(`added token ${JSON.stringify(t.content)} (id ${t.id}) is not special: tokenizers matches such tokens inside plain text, which unilab does not`);
    }

    // unilab's BPE in its own layout: bytes 0..255, two placeholder specials, then one id per merge.
    const innerIdOf = new Map<string, number>(BYTE_TO_CHAR.map((c, b) => [c, b]));
    const rawMerges = (model!.merges ?? []) as unknown[];
    const merges = rawMerges.map((m, rank): [number, number] => {
      const parts = Array.isArray(m) ? m : typeof m === 'string' ? m.split(' ') : [];
      if (parts.length !== 2 || typeof parts[0] !== 'string' || typeof parts[1] !== 'string')
        fail(`model.merges[${rank}] is not a pair: ${JSON.stringify(m)}`);
      const ids = (parts as string[]).map((p) => innerIdOf.get(p) ?? fail(`model.merges[${rank}]: ${JSON.stringify(p)} is neither a byte nor made by an earlier merge`));
      const joined = parts.join('');
      if (!innerIdOf.has(joined)) innerIdOf.set(joined, 258 + innerIdOf.size - 256);
      return [ids[0], ids[1]];
    });
    const inner = new BpeTokenizer({ specials: ['eos', 'pad'], merges });
    const outerOf = new Int32Array(inner.vocabSize).fill(-1);
    for (let id = 0; id < inner.vocabSize; id++) {
      if (id === 256 || id === 257) continue;
      const s = inner.tokenString(id);
      const outer = vocab[s];
      if (outer === undefined)
        fail(id < 256 ? `byte ${id} (${JSON.stringify(s)}) is not in model.vocab: a byte-level BPE must spell every byte` : `merge result ${JSON.stringify(s)} is not in model.vocab`);
      outerOf[id] = outer;
    }

    const size = Math.max(-1, ...Object.values(vocab), ...added.map((t) => t.id)) + 1;
    const bytesOf: (Uint8Array | null)[] = new Array(size).fill(null);
    for (const [s, id] of Object.entries(vocab)) {
      if (!Number.isInteger(id) || id < 0) fail(`model.vocab[${JSON.stringify(s)}] is ${JSON.stringify(id)}, not a token id`);
      // Trainers also list the special tokens in model.vocab; their spelling is their content, not byte-level.
      if (added.some((t) => t.id === id && t.content === s)) continue;
      if (bytesOf[id]) fail(`model.vocab gives id ${id} to two tokens (${JSON.stringify(s)} and an earlier one)`);
      bytesOf[id] = byteLevelToBytes(s) ?? fail(`model.vocab entry ${JSON.stringify(s)} holds a character outside the byte-level alphabet`);
    }
    const specialTokens: Record<string, number> = {};
    for (const t of added) {
      if (bytesOf[t.id] && vocab[t.content] !== t.id) fail(`added token ${JSON.stringify(t.content)} has id ${t.id}, which model.vocab gives to another token`);
      bytesOf[t.id] = utf8.encode(t.content);
      const m = /^<\|(.+)\|>$/.exec(t.content);
      specialTokens[m ? m[1] : t.content] = t.id;
    }
    const find = (spellings: string[]) => added.find((t) => spellings.includes(t.content))?.id;
    const eos = specialTokens.eos ?? find(EOS_SPELLINGS);
    if (eos === undefined)
      fail(`no end-of-text token among the added tokens (looked for ${EOS_SPELLINGS.join(', ')}); unilab's objectives need one`);
    specialTokens.eos = eos!;
    specialTokens.pad = specialTokens.pad ?? find(PAD_SPELLINGS) ?? eos!;
    return new HfByteLevelBpeTokenizer(json, inner, outerOf, bytesOf, specialTokens);
  }

  encode(text: string): Int32Array {
    return this.inner.encode(text).map((id) => this.outerOf[id]);
  }

  decode(ids: ArrayLike<number>): string {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const b = this.bytesOf[ids[i]];
      if (!b) throw new Error(`token id ${ids[i]} is not in the vocabulary (size ${this.vocabSize})`);
      parts.push(b);
      total += b.length;
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return lenient.decode(out);
  }

  /** The tokenizer.json it was read from, unchanged. */
  toJSON(): Record<string, unknown> {
    return this.json;
  }
}
