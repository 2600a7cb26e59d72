import { SpecError, field, number, object, integer, type DataStagePlugin } from '@unilab/core';
import { countOccurrences, hasLetter, lines, words } from '../text/words.ts';

/**
 * Gopher quality rules (Rae et al. 2021, "Scaling Language Models: Methods, Analysis & Insights from Training
 * Gopher", Appendix A.1.1). Defaults are the paper's: 50 to 100,000 words; mean word length 3 to 10 characters;
 * hash and ellipsis symbols each at most 0.1 per word; at most 90% of lines starting with a bullet; at most 30% of
 * lines ending in an ellipsis; at least 80% of words containing a letter; at least 2 of the stop words
 * "the, be, to, of, and, that, have, with". A document is dropped when it falls strictly outside a bound.
 */
export const gopherQualityConfigSchema = object({
  minWords: field(integer({ min: 0 }), 50),
  maxWords: field(integer({ min: 1 }), 100_000),
  minMeanWordLength: field(number({ min: 0 }), 3),
  maxMeanWordLength: field(number({ min: 0 }), 10),
  maxSymbolWordRatio: field(number({ min: 0 }), 0.1),
  maxBulletLineRatio: field(number({ min: 0, max: 1 }), 0.9),
  maxEllipsisLineRatio: field(number({ min: 0, max: 1 }), 0.3),
  minAlphaWordRatio: field(number({ min: 0, max: 1 }), 0.8),
  minStopWords: field(integer({ min: 0 }), 2),
});
export type GopherQualityConfig = ReturnType<typeof gopherQualityConfigSchema.parse>;

const STOP_WORDS = new Set(['the', 'be', 'to', 'of', 'and', 'that', 'have', 'with']);
/** Bullet marks at the start of a line: the typographic bullets and the ASCII list markers used in web text. */
const BULLET = /^\s*[•‣◦⁃●▪∙·\-*]/u;
const ELLIPSIS_END = /(\.\.\.|…)\s*$/u;

/** Why Gopher's quality rules reject a text, or null when it passes. */
export function gopherQualityReason(text: string, c: GopherQualityConfig): string | null {
  const ws = words(text);
  const n = ws.length;
  if (n < c.minWords) return 'too_few_words';
  if (n > c.maxWords) return 'too_many_words';
  const mean = ws.reduce((s, w) => s + [...w].length, 0) / n;
  if (mean < c.minMeanWordLength) return 'mean_word_length_too_short';
  if (mean > c.maxMeanWordLength) return 'mean_word_length_too_long';
  if (countOccurrences(text, '#') / n > c.maxSymbolWordRatio) return 'hash_ratio';
  if ((countOccurrences(text, '...') + countOccurrences(text, '…')) / n > c.maxSymbolWordRatio) return 'ellipsis_ratio';
  const ls = lines(text);
  if (ls.filter((l) => BULLET.test(l)).length / ls.length > c.maxBulletLineRatio) return 'bullet_lines';
  if (ls.filter((l) => ELLIPSIS_END.test(l)).length / ls.length > c.maxEllipsisLineRatio) return 'ellipsis_lines';
  if (ws.filter(hasLetter).length / n < c.minAlphaWordRatio) return 'alpha_words';
  // The paper asks for "at least two of the following English words": distinct stop words are counted.
  const stops = new Set(ws.map((w) => w.toLowerCase()).filter((w) => STOP_WORDS.has(w)));
  if (stops.size < c.minStopWords) return 'stop_words';
  return null;
}

export const gopherQualityStage: DataStagePlugin<GopherQualityConfig> = {
  kind: 'data-stage',
  name: 'gopher-quality',
  description: 'Gopher quality heuristics: document length, word length, symbols, bullets, ellipses, alphabetic words, stop words',
  configSchema: {
    describe: gopherQualityConfigSchema.describe,
    parse(value, path) {
      const c = gopherQualityConfigSchema.parse(value, path);
      if (c.minWords > c.maxWords) throw new SpecError(`${path}.minWords`, `must not exceed maxWords (${c.maxWords})`);
      if (c.minMeanWordLength > c.maxMeanWordLength)
        throw new SpecError(`${path}.minMeanWordLength`, `must not exceed maxMeanWordLength (${c.maxMeanWordLength})`);
      return c;
    },
  },
  async create(config) {
    return {
      process(doc) {
        const reason = gopherQualityReason(doc.text, config);
        return reason ? { keep: false, reason } : { keep: true };
      },
    };
  },
};
