import { loadWasmKernels, type WasmKernels } from './kernels-loader.ts';

/**
 * MinHash signatures of texts over their word n-gram shingles, computed by the wasm kernels
 * (kernels-rs/src/minhash.rs states the hashing). The data pipeline's near-duplicate removal uses it; its TypeScript
 * reference (libs/data/src/dedup/minhash.ts) gives the same signatures bit for bit.
 *
 * A word is a maximal run of code points that `wordCharacter` matches. The kernel reads the text's UTF-16 code units
 * with a bitset over all 0x110000 code points, built here by testing each code point against `wordCharacter`: the
 * Unicode classes are the engine's own, so the words are the ones the same class finds in a JavaScript regular
 * expression, in every language, without Unicode tables in the kernel.
 */
export interface MinhashSignerOptions {
  /** A regular expression for one code point of a word, with the `u` or `v` flag, e.g. /[\p{L}\p{N}\p{M}]/u. */
  wordCharacter: RegExp;
  /** Words per shingle (n of the word n-grams); a text of fewer words is one shingle of all of them. */
  shingleSize: number;
  /** One seed per hash function: the signature has `seeds.length` values. */
  seeds: Uint32Array;
}

export interface MinhashSigner {
  /** Number of hash functions (values in a signature). */
  readonly hashes: number;
  /** The signature of `text` as given (lower-case it first for case-blind shingles), written into `out`. */
  signature(text: string, out?: Uint32Array): Uint32Array;
}

/** 32-bit words of the bitset over code points 0..0x10ffff (kernels-rs WORD_CHARS_LEN). */
const WORD_CHARS_LEN = 0x110000 / 32;

/** The kernel's scratch in one kernels instance, shared by its signers (calls are synchronous, one at a time). */
interface Scratch {
  /** Word-character bitsets by pattern (`flags/source`). */
  tables: Map<string, number>;
  text: { ptr: number; len: number };
  workspace: { ptr: number; len: number };
  /** Seeds, then the signature. */
  hashes: { ptr: number; len: number };
}

const scratches = new WeakMap<WasmKernels, Scratch>();
const tableBits = new Map<string, Uint32Array>();

function wordCharacterBits(wordCharacter: RegExp): Uint32Array {
  const key = `${wordCharacter.flags}/${wordCharacter.source}`;
  let bits = tableBits.get(key);
  if (bits) return bits;
  const exact = new RegExp(`^(?:${wordCharacter.source})$`, wordCharacter.flags);
  bits = new Uint32Array(WORD_CHARS_LEN);
  for (let cp = 0; cp < 0x110000; cp++) if (exact.test(String.fromCodePoint(cp))) bits[cp >>> 5] |= 1 << (cp & 31);
  tableBits.set(key, bits);
  return bits;
}

/** Make sure `block` holds at least `len` 4-byte elements (doubling, so a stream of documents rarely reallocates). */
function reserve(kernels: WasmKernels, block: { ptr: number; len: number }, len: number): void {
  if (block.len >= len) return;
  const grown = Math.max(len, 2 * block.len, 1024);
  if (block.len > 0) kernels.freeI32(block.ptr, block.len);
  block.len = 0; // stays consistent if the allocation below throws
  block.ptr = kernels.allocI32(grown);
  block.len = grown;
}

function validate(options: MinhashSignerOptions): void {
  const { wordCharacter, shingleSize, seeds } = options;
  if (!(wordCharacter instanceof RegExp) || !/[uv]/.test(wordCharacter.flags) || /[gy]/.test(wordCharacter.flags))
    throw new TypeError(`minhash signer: wordCharacter must be a RegExp with the u or v flag and without g or y, got ${String(wordCharacter)}`);
  if (!Number.isInteger(shingleSize) || shingleSize < 1) throw new RangeError(`minhash signer: shingleSize must be an integer >= 1, got ${shingleSize}`);
  if (!(seeds instanceof Uint32Array) || seeds.length === 0) throw new RangeError('minhash signer: seeds must be a non-empty Uint32Array');
}

/** A MinHash signer on the wasm kernels (`kernels` defaults to the loaded module, see loadWasmKernels). */
export async function createWasmMinhashSigner(options: MinhashSignerOptions, kernels?: WasmKernels): Promise<MinhashSigner> {
  validate(options);
  const k = kernels ?? (await loadWasmKernels());
  const seeds = options.seeds.slice();
  const n = options.shingleSize;
  const hashes = seeds.length;
  let scratch = scratches.get(k);
  if (!scratch) {
    scratch = { tables: new Map(), text: { ptr: 0, len: 0 }, workspace: { ptr: 0, len: 0 }, hashes: { ptr: 0, len: 0 } };
    scratches.set(k, scratch);
  }
  const s = scratch;
  const key = `${options.wordCharacter.flags}/${options.wordCharacter.source}`;
  let table = s.tables.get(key);
  if (table === undefined) {
    table = k.allocI32(WORD_CHARS_LEN);
    new Uint32Array(k.memory.buffer, table, WORD_CHARS_LEN).set(wordCharacterBits(options.wordCharacter));
    s.tables.set(key, table);
  }
  const wordChars = table;

  return {
    hashes,
    signature(text, out = new Uint32Array(hashes)) {
      if (out.length !== hashes) throw new RangeError(`minhash signer: out holds ${out.length} values, the signature has ${hashes}`);
      const len = text.length;
      reserve(k, s.text, Math.ceil(len / 2));
      reserve(k, s.workspace, k.exports.minhash_workspace(len));
      reserve(k, s.hashes, 2 * hashes);
      // Views after allocating: a view made before the memory grew would not reach the new pages.
      const buffer = k.memory.buffer;
      const units = new Uint16Array(buffer, s.text.ptr, len);
      for (let i = 0; i < len; i++) units[i] = text.charCodeAt(i);
      new Uint32Array(buffer, s.hashes.ptr, hashes).set(seeds);
      const signaturePtr = s.hashes.ptr + 4 * hashes;
      k.exports.minhash_signature(s.text.ptr, len, wordChars, n, s.hashes.ptr, hashes, s.workspace.ptr, s.workspace.len, signaturePtr);
      out.set(new Uint32Array(buffer, signaturePtr, hashes));
      return out;
    },
  };
}
