import type { Tokenizer } from '@unilab/core';
import { BYTE_TO_CHAR, bytesToByteLevel, preTokenize } from './byte-level.ts';
import { mergePiece, pairKey, type MergeTable } from './bpe-merge.ts';

/** The vocabulary of a byte-level BPE tokenizer, in id order. */
export interface BpeVocabulary {
  /** Special tokens by name, always including "eos" and "pad"; ids 256 .. 256 + n - 1 in this order. */
  specials: readonly string[];
  /**
   * Merges in rank order. Merge r joins ids (left, right) into a token; a token whose bytes are new gets the next id
   * after the bytes, the specials and earlier new tokens, and one that already exists (two merge paths can spell the
   * same bytes) keeps its id, as Hugging Face's trainer does.
   */
  merges: readonly (readonly [number, number])[];
}

/** How a special token is spelled in tokenizer.json and in decoded text. */
export function specialContent(name: string): string {
  return `<|${name}|>`;
}

const utf8 = new TextEncoder();
const lenient = new TextDecoder('utf-8');

/**
 * Byte-level BPE (GPT-2 style). Ids 0..255 are the bytes, then the special tokens, then one id per merge. Every byte
 * sequence has an encoding, so there is no unknown token, and decoding the ids gives back the exact bytes. Text never
 * encodes to a special token: objectives insert those themselves.
 */
export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe';
  readonly vocabSize: number;
  readonly specialTokens: Readonly<Record<string, number>>;
  private readonly table: MergeTable;
  /** Bytes of every id (specials: their spelled-out content). */
  private readonly tokenBytes: Uint8Array[];
  private readonly cache = new Map<string, Int32Array>();
  private readonly firstMergeId: number;

  constructor(readonly vocabulary: BpeVocabulary) {
    const { specials, merges } = vocabulary;
    if (!specials.includes('eos') || !specials.includes('pad'))
      throw new Error(`a BPE vocabulary needs the special tokens "eos" and "pad"; it has ${specials.join(', ') || 'none'}`);
    this.firstMergeId = 256 + specials.length;
    this.specialTokens = Object.fromEntries(specials.map((name, i) => [name, 256 + i]));
    this.tokenBytes = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
    for (const name of specials) this.tokenBytes.push(utf8.encode(specialContent(name)));
    const idOfBytes = new Map<string, number>();
    this.tokenBytes.forEach((b, id) => {
      if (id < 256) idOfBytes.set(bytesToByteLevel(b), id);
    });
    const ranks = new Map<number, number>();
    const mergedIds = new Int32Array(merges.length);
    merges.forEach(([l, r], rank) => {
      const known = this.tokenBytes.length;
      if (!(l >= 0 && l < known && r >= 0 && r < known) || this.isSpecial(l) || this.isSpecial(r))
        throw new Error(`BPE merge ${rank} joins ids ${l} and ${r}, which are not byte or earlier merge tokens`);
      const a = this.tokenBytes[l];
      const b = this.tokenBytes[r];
      const joined = new Uint8Array(a.length + b.length);
      joined.set(a);
      joined.set(b, a.length);
      const spelled = bytesToByteLevel(joined);
      let id = idOfBytes.get(spelled);
      if (id === undefined) {
        id = this.tokenBytes.length;
        idOfBytes.set(spelled, id);
        this.tokenBytes.push(joined);
      }
      mergedIds[rank] = id;
      if (!ranks.has(pairKey(l, r))) ranks.set(pairKey(l, r), rank);
    });
    this.vocabSize = this.tokenBytes.length;
    this.table = { ranks, mergedIds };
  }

  encode(text: string): Int32Array {
    const out: number[] = [];
    for (const piece of preTokenize(text)) {
      let ids = this.cache.get(piece);
      if (ids === undefined) {
        ids = Int32Array.from(mergePiece(Array.from(utf8.encode(piece)), this.table));
        if (this.cache.size < 1 << 18) this.cache.set(piece, ids);
      }
      for (const id of ids) out.push(id);
    }
    return Int32Array.from(out);
  }

  /**
   * Encode arbitrary bytes: each maximal valid UTF-8 run goes through the text path, and each byte of an invalid
   * sequence stays a byte token, so `decodeBytes(encodeBytes(b))` equals b for every byte string.
   */
  encodeBytes(bytes: Uint8Array): Int32Array {
    const out: number[] = [];
    let start = 0;
    let i = 0;
    const flush = (end: number) => {
      if (end > start) for (const id of this.encode(lenient.decode(bytes.subarray(start, end)))) out.push(id);
    };
    while (i < bytes.length) {
      const n = validSequenceLength(bytes, i);
      if (n > 0) {
        i += n;
        continue;
      }
      flush(i);
      out.push(bytes[i]);
      start = ++i;
    }
    flush(i);
    return Int32Array.from(out);
  }

  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    let total = 0;
    for (let i = 0; i < ids.length; i++) total += this.bytesOf(ids[i]).length;
    const out = new Uint8Array(total);
    let o = 0;
    for (let i = 0; i < ids.length; i++) {
      const b = this.bytesOf(ids[i]);
      out.set(b, o);
      o += b.length;
    }
    return out;
  }

  /** UTF-8 decoding of the tokens' bytes (a cut multi-byte character becomes U+FFFD); specials render as <|name|>. */
  decode(ids: ArrayLike<number>): string {
    return lenient.decode(this.decodeBytes(ids));
  }

  /** The token as a byte-level string, as tokenizer.json spells it. */
  tokenString(id: number): string {
    if (this.isSpecial(id)) return specialContent(this.vocabulary.specials[id - 256]);
    let s = '';
    for (const b of this.bytesOf(id)) s += BYTE_TO_CHAR[b];
    return s;
  }

  private isSpecial(id: number): boolean {
    return id >= 256 && id < this.firstMergeId;
  }

  private bytesOf(id: number): Uint8Array {
    const b = this.tokenBytes[id];
    if (b === undefined) throw new Error(`token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
    return b;
  }

  /** Hugging Face tokenizer.json (what `tokenizerFromJSON` and the `tokenizers` library load). */
  toJSON(): Record<string, unknown> {
    return toHuggingFaceJson(this);
  }

  static fromJSON(json: Record<string, unknown>): BpeTokenizer {
    return fromHuggingFaceJson(json);
  }
}

/** Length of the valid UTF-8 sequence starting at i (RFC 3629 §4), or 0 if the bytes there are not one. */
function validSequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

function toHuggingFaceJson(t: BpeTokenizer): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  for (let id = 0; id < t.vocabSize; id++) vocab[t.tokenString(id)] = id;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: t.vocabulary.specials.map((name, i) => ({
      id: 256 + i,
      content: specialContent(name),
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: t.vocabulary.merges.map(([l, r]) => [t.tokenString(l), t.tokenString(r)]),
    },
  };
}

/**
 * Read a Hugging Face tokenizer.json of a byte-level BPE model. Its layout must be this library's (bytes at 0..255,
 * specials next, merges after), which `trainBpe` writes; anything else is refused with the reason.
 */
function fromHuggingFaceJson(json: Record<string, unknown>): BpeTokenizer {
  const fail = (why: string): never => {
    throw new Error(`tokenizer.json: ${why}`);
  };
  const model = json.model as { type?: string; vocab?: Record<string, number>; merges?: unknown[] } | undefined;
  if (!model || model.type !== 'BPE') fail(`expected model.type "BPE", got ${JSON.stringify(model?.type)}`);
  if ((json.pre_tokenizer as { type?: string } | null)?.type !== 'ByteLevel') fail('expected a ByteLevel pre_tokenizer');
  const vocab = model!.vocab ?? fail('model.vocab is missing');
  const added = (Array.isArray(json.added_tokens) ? json.added_tokens : []) as { id: number; content: string }[];
  const specials = added
    .slice()
    .sort((a, b) => a.id - b.id)
    .map((t, i) => {
      if (t.id !== 256 + i) fail(`added token ${JSON.stringify(t.content)} has id ${t.id}; expected ${256 + i} (specials follow the 256 bytes)`);
      const m = /^<\|(.+)\|>$/.exec(t.content);
      return m ? m[1] : t.content;
    });
  for (let b = 0; b < 256; b++) if (vocab[BYTE_TO_CHAR[b]] !== b) fail(`byte ${b} must have id ${b}`);
  const idOf = (s: string): number => {
    const id = vocab[s];
    if (id === undefined) fail(`merge part ${JSON.stringify(s)} is not in the vocabulary`);
    return id;
  };
  const merges = (model!.merges ?? []).map((m, rank): [number, number] => {
    const parts = Array.isArray(m) ? (m as string[]) : typeof m === 'string' ? m.split(' ') : [];
    if (parts.length !== 2) fail(`merge ${rank} is not a pair: ${JSON.stringify(m)}`);
    return [idOf(parts[0]), idOf(parts[1])];
  });
  const tokenizer = new BpeTokenizer({ specials, merges });
  for (const [s, id] of Object.entries(vocab))
    if (!(id >= 256 && id < 256 + specials.length) && tokenizer.tokenString(id) !== s)
      fail(`vocab entry ${JSON.stringify(s)} has id ${id}, but the merges give that id to ${JSON.stringify(id < tokenizer.vocabSize ? tokenizer.tokenString(id) : 'nothing')}`);
  return tokenizer;
}
