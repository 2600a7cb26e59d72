/**
 * The byte-level alphabet of GPT-2 (Radford et al. 2019, §2.2) that Hugging Face's ByteLevel pre-tokenizer and
 * decoder use: every byte maps to one printable Unicode character (printable Latin-1 bytes map to themselves, the
 * rest to U+0100 onwards), so a vocabulary of byte strings can be written as JSON strings.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const direct: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) direct.push(b);
  for (let b = 0xa1; b <= 0xac; b++) direct.push(b);
  for (let b = 0xae; b <= 0xff; b++) direct.push(b);
  const table: string[] = new Array(256);
  for (const b of direct) table[b] = String.fromCharCode(b);
  let next = 256;
  for (let b = 0; b < 256; b++) if (table[b] === undefined) table[b] = String.fromCharCode(next++);
  return table;
})();

export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += BYTE_TO_CHAR[b];
  return s;
}

/** The bytes a byte-level string stands for; null if it holds a character outside the alphabet. */
export function byteLevelToBytes(s: string): Uint8Array | null {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const b = CHAR_TO_BYTE.get(s[i]);
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}

/**
 * GPT-2's pre-tokenization pattern, which Hugging Face's ByteLevel pre-tokenizer applies (use_regex: true): English
 * contractions, a letter run or digit run or symbol run with at most one leading space, and whitespace. BPE merges
 * never cross these pieces, which keeps the vocabulary from spending entries on "word. The" fragments.
 */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export function preTokenize(text: string): string[] {
  return text.match(GPT2_PATTERN) ?? [];
}
