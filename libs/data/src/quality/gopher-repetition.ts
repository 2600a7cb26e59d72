import { arrayOf, field, number, object, integer, type DataStagePlugin } from '@unilab/core';
import { words } from '../text/words.ts';

/**
 * Gopher repetition rules (Rae et al. 2021, Table A1): drop a document whose duplicated lines / paragraphs exceed
 * 30% of them or 20% of its characters, whose most frequent 2/3/4-gram covers more than 20/18/16% of its
 * characters, or whose duplicated 5..10-grams cover more than 15..10% of its characters.
 */
const nGramLimit = object({ n: field(integer({ min: 1, max: 20 })), fraction: field(number({ min: 0, max: 1 })) });
export const gopherRepetitionConfigSchema = object({
  maxDuplicateLineFraction: field(number({ min: 0, max: 1 }), 0.3),
  maxDuplicateParagraphFraction: field(number({ min: 0, max: 1 }), 0.3),
  maxDuplicateLineCharFraction: field(number({ min: 0, max: 1 }), 0.2),
  maxDuplicateParagraphCharFraction: field(number({ min: 0, max: 1 }), 0.2),
  topNGramCharFractions: field(arrayOf(nGramLimit), [
    { n: 2, fraction: 0.2 },
    { n: 3, fraction: 0.18 },
    { n: 4, fraction: 0.16 },
  ]),
  duplicateNGramCharFractions: field(arrayOf(nGramLimit), [
    { n: 5, fraction: 0.15 },
    { n: 6, fraction: 0.14 },
    { n: 7, fraction: 0.13 },
    { n: 8, fraction: 0.12 },
    { n: 9, fraction: 0.11 },
    { n: 10, fraction: 0.1 },
  ]),
});
export type GopherRepetitionConfig = ReturnType<typeof gopherRepetitionConfigSchema.parse>;

/** Count of elements seen before and the characters they hold. */
export function duplicates(items: readonly string[]): { count: number; chars: number } {
  const seen = new Set<string>();
  let count = 0;
  let chars = 0;
  for (const item of items) {
    if (seen.has(item)) {
      count++;
      chars += item.length;
    } else seen.add(item);
  }
  return { count, chars };
}

/**
 * The words of a document as integer ids plus their lengths, so n-grams are compared by a numeric key instead of a
 * joined string (the n-gram passes are the cost of this filter).
 */
export interface WordIds {
  ids: Int32Array;
  lengths: Int32Array;
}

export function wordIds(ws: readonly string[]): WordIds {
  const vocab = new Map<string, number>();
  const ids = new Int32Array(ws.length);
  const lengths = new Int32Array(ws.length);
  ws.forEach((w, i) => {
    let id = vocab.get(w);
    if (id === undefined) vocab.set(w, (id = vocab.size));
    ids[i] = id;
    lengths[i] = w.length;
  });
  return { ids, lengths };
}

/** A 53-bit key for the n-gram starting at i: two independent 32-bit polynomial hashes of the word ids. */
function nGramKey(ids: Int32Array, i: number, n: number): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let k = i; k < i + n; k++) {
    a = Math.imul(a ^ ids[k], 0x01000193);
    b = Math.imul(b ^ ids[k], 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

/** Characters of the n-gram starting at i, joined by single spaces. */
function nGramChars(lengths: Int32Array, i: number, n: number): number {
  let c = n - 1;
  for (let k = i; k < i + n; k++) c += lengths[k];
  return c;
}

/**
 * Characters covered by the most frequent n-gram, counting each occurrence (Gopher's "top n-gram" fraction). An
 * n-gram that occurs once is not repetition, so a document of unique n-grams scores 0 however short it is.
 */
export function topNGramChars(w: WordIds, n: number): number {
  const counts = new Map<number, number>();
  let best = 0;
  for (let i = 0; i + n <= w.ids.length; i++) {
    const key = nGramKey(w.ids, i, n);
    const c = (counts.get(key) ?? 0) + 1;
    counts.set(key, c);
    if (c > 1) best = Math.max(best, c * nGramChars(w.lengths, i, n));
  }
  return best;
}

/**
 * Characters in n-grams that repeat an earlier n-gram. After a repeat the scan jumps past it so overlapping repeats
 * are not counted twice (as in Gopher's reference filter).
 */
export function duplicateNGramChars(w: WordIds, n: number): number {
  const seen = new Set<number>();
  let chars = 0;
  for (let i = 0; i + n <= w.ids.length; ) {
    const key = nGramKey(w.ids, i, n);
    if (seen.has(key)) {
      chars += nGramChars(w.lengths, i, n);
      i += n;
    } else {
      seen.add(key);
      i++;
    }
  }
  return chars;
}

export function gopherRepetitionReason(text: string, c: GopherRepetitionConfig): string | null {
  const length = text.length;
  if (length === 0) return 'empty';
  const paragraphs = text.trim().split(/\n{2,}/);
  const p = duplicates(paragraphs);
  if (p.count / paragraphs.length > c.maxDuplicateParagraphFraction) return 'duplicate_paragraphs';
  if (p.chars / length > c.maxDuplicateParagraphCharFraction) return 'duplicate_paragraph_chars';
  const ls = text.split(/\r?\n/);
  const l = duplicates(ls);
  if (l.count / ls.length > c.maxDuplicateLineFraction) return 'duplicate_lines';
  if (l.chars / length > c.maxDuplicateLineCharFraction) return 'duplicate_line_chars';
  const ws = wordIds(words(text));
  for (const { n, fraction } of c.topNGramCharFractions) if (topNGramChars(ws, n) / length > fraction) return `top_${n}_gram`;
  for (const { n, fraction } of c.duplicateNGramCharFractions) if (duplicateNGramChars(ws, n) / length > fraction) return `duplicate_${n}_grams`;
  return null;
}

export const gopherRepetitionStage: DataStagePlugin<GopherRepetitionConfig> = {
  kind: 'data-stage',
  name: 'gopher-repetition',
  description: 'Gopher repetition heuristics: duplicated lines and paragraphs, top n-grams, duplicated n-grams',
  configSchema: gopherRepetitionConfigSchema,
  async create(config) {
    return {
      process(doc) {
        const reason = gopherRepetitionReason(doc.text, config);
        return reason ? { keep: false, reason } : { keep: true };
      },
    };
  },
};
