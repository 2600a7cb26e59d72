/**
 * Word and line views of a document shared by the rule filters. A word is a whitespace-separated token with its
 * leading and trailing punctuation removed; tokens that are only punctuation are not words (NLTK's word_tokenize,
 * which Gopher and datatrove use, splits punctuation off in the same way).
 */
const EDGE_PUNCTUATION = /^[\p{P}\p{S}]+|[\p{P}\p{S}]+$/gu;

export function words(text: string): string[] {
  const out: string[] = [];
  for (const token of text.split(/\s+/)) {
    if (!token) continue;
    const w = token.replace(EDGE_PUNCTUATION, '');
    if (w) out.push(w);
  }
  return out;
}

/** Lines of a document ("\n", "\r\n"). */
export function lines(text: string): string[] {
  return text.split(/\r?\n/);
}

/** Lines that hold more than whitespace, trimmed. */
export function nonEmptyLines(text: string): string[] {
  return lines(text)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

export function hasLetter(word: string): boolean {
  return /\p{L}/u.test(word);
}

/** How often `needle` occurs in `text` (non-overlapping). */
export function countOccurrences(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

/**
 * Terminal punctuation: the sentence-final marks of Latin, CJK, Devanagari, Arabic and other scripts, plus closing
 * quotes (C4 keeps a line that ends in `"`). datatrove's TERMINAL_PUNCTUATION set plays the same role in FineWeb.
 */
export const TERMINAL_PUNCTUATION = new Set(['.', '!', '?', '"', "'", '…', '。', '！', '？', '｡', '।', '॥', '؟', '۔', '։', '።', '።', '။', '።', '”', '’', '»', '」', '』']);

export function endsWithTerminalPunctuation(line: string): boolean {
  const t = line.trimEnd();
  return t.length > 0 && TERMINAL_PUNCTUATION.has(t[t.length - 1]);
}
