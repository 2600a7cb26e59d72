/**
 * Cut running text into passages of whole sentences, so a classification example or a cloze context never starts
 * or ends mid-sentence. Sentences end at . ! or ? followed by space and a capital or a quote; common abbreviations
 * ("Mr.", "U.S.") do not end one.
 */

/**
 * Passage sizes of every task: long enough to carry a genre, a party or a topic, short enough that a zero-shot prompt
 * (passage, question line, answer) fits a 128-token byte-level context like the quickstart model's.
 */
export const PASSAGE_BYTES = { min: 50, max: 100 } as const;

const ABBREVIATION = /\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Gov|Sen|Rep|Hon|Messrs|Col|Capt|Lt|Mt|No|Vol|vs|etc|U\.S|[A-Z])\.$/;

export function sentences(text: string): string[] {
  let found = sentenceCache.get(text);
  if (!found) {
    if (sentenceCache.size >= SENTENCE_CACHE_DOCUMENTS) sentenceCache.clear();
    found = splitSentences(text);
    sentenceCache.set(text, found);
  }
  return [...found];
}

/** Tasks split the same corpus documents again and again (every task, seed and suite): keep the last few thousand. */
const SENTENCE_CACHE_DOCUMENTS = 4096;
const sentenceCache = new Map<string, readonly string[]>();

function splitSentences(text: string): string[] {
  const pieces = text.replace(/\s+/g, ' ').trim().split(/(?<=[.!?]["')]?)\s+(?=["'(]?[A-Z0-9])/);
  const out: string[] = [];
  for (const p of pieces) {
    if (out.length > 0 && ABBREVIATION.test(out[out.length - 1])) out[out.length - 1] += ` ${p}`;
    else out.push(p);
  }
  return out.filter((s) => s.length > 0);
}

/**
 * Consecutive runs of whole sentences, each between minBytes and maxBytes of UTF-8, taken greedily from the start;
 * a sentence longer than maxBytes on its own is skipped.
 */
export function passages(text: string, minBytes: number, maxBytes: number): string[] {
  const out: string[] = [];
  let current = '';
  for (const s of sentences(text)) {
    const joined = current ? `${current} ${s}` : s;
    if (byteLength(joined) <= maxBytes) {
      current = joined;
      continue;
    }
    if (byteLength(current) >= minBytes) out.push(current);
    current = byteLength(s) <= maxBytes ? s : '';
  }
  if (byteLength(current) >= minBytes) out.push(current);
  return out;
}

const encoder = new TextEncoder();

export function byteLength(s: string): number {
  return encoder.encode(s).length;
}

/** The longest prefix of text that ends at a word boundary and fits in maxBytes of UTF-8. */
export function truncateToBytes(text: string, maxBytes: number): string {
  if (byteLength(text) <= maxBytes) return text;
  let cut = text.slice(0, maxBytes);
  while (byteLength(cut) > maxBytes) cut = cut.slice(0, -1);
  const space = cut.lastIndexOf(' ');
  return (space > 0 ? cut.slice(0, space) : cut).trimEnd();
}

/**
 * For every sentence, the longest run of whole sentences that ends with it and fits in maxBytes (kept when at least
 * minBytes): one passage per sentence ending, so a cloze gets a distinct target from every sentence.
 */
export function sentenceWindows(text: string, minBytes: number, maxBytes: number): string[] {
  const all = sentences(text);
  const sizes = all.map(byteLength);
  const out: string[] = [];
  for (let end = 0; end < all.length; end++) {
    let start = end;
    let bytes = sizes[end];
    while (start > 0 && bytes + 1 + sizes[start - 1] <= maxBytes) bytes += 1 + sizes[--start];
    if (bytes >= minBytes && bytes <= maxBytes) out.push(all.slice(start, end + 1).join(' '));
  }
  return out;
}
