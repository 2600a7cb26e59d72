import { boolean, field, integer, object, type DataStagePlugin } from '@unilab/core';
import { endsWithTerminalPunctuation } from '../text/words.ts';

/**
 * C4's clean-up rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning", §2.2): keep only lines that
 * end in terminal punctuation and hold at least 3 words; drop lines that mention "javascript" or cookie / terms-of-use
 * boilerplate; drop the page if it contains "lorem ipsum" or a curly brace, or if fewer than 5 sentences remain.
 * Lines with a word over 1,000 characters are dropped as in the reference implementation (tensorflow_datasets c4_utils).
 * The stage rewrites the document to its kept lines.
 */
export const c4QualityConfigSchema = object({
  terminalPunctuation: field(boolean(), true),
  minWordsPerLine: field(integer({ min: 0 }), 3),
  minSentences: field(integer({ min: 0 }), 5),
  maxWordLength: field(integer({ min: 1 }), 1000),
  dropJavascriptLines: field(boolean(), true),
  dropPolicyLines: field(boolean(), true),
  dropLoremIpsum: field(boolean(), true),
  dropCurlyBrace: field(boolean(), true),
});
export type C4QualityConfig = ReturnType<typeof c4QualityConfigSchema.parse>;

const POLICY = ['terms of use', 'privacy policy', 'cookie policy', 'uses cookies', 'use of cookies', 'use cookies'];
/** Wikipedia-style citation marks the reference implementation strips before judging a line. */
const CITATION = /\[\d*\]|\[edit\]|\[citation needed\]/gi;
/** Sentence ends inside a line: terminal punctuation followed by optional closing quotes/brackets and a space or the end. */
const SENTENCE_END = /[.!?…。！？]+["'”’)\]]*(?=\s|$)/gu;

export type C4Result = { keep: true; text: string } | { keep: false; reason: string };

export function c4Clean(text: string, c: C4QualityConfig): C4Result {
  const kept: string[] = [];
  let sentences = 0;
  for (const raw of text.split(/\r?\n/)) {
    const ws = raw.trim().split(/\s+/).filter(Boolean);
    if (ws.some((w) => w.length > c.maxWordLength)) continue;
    const line = raw.replace(CITATION, '').trim();
    if (c.terminalPunctuation && (!endsWithTerminalPunctuation(line) || line.endsWith('...'))) continue;
    if (ws.length < c.minWordsPerLine) continue;
    const lower = line.toLowerCase();
    if (c.dropLoremIpsum && lower.includes('lorem ipsum')) return { keep: false, reason: 'lorem_ipsum' };
    if (c.dropJavascriptLines && lower.includes('javascript')) continue;
    if (c.dropCurlyBrace && line.includes('{')) return { keep: false, reason: 'curly_brace' };
    if (c.dropPolicyLines && POLICY.some((p) => lower.includes(p))) continue;
    sentences += Math.max(1, line.match(SENTENCE_END)?.length ?? 0);
    kept.push(line);
  }
  if (sentences < c.minSentences) return { keep: false, reason: 'too_few_sentences' };
  return { keep: true, text: kept.join('\n') };
}

export const c4QualityStage: DataStagePlugin<C4QualityConfig> = {
  kind: 'data-stage',
  name: 'c4-quality',
  description: 'C4 line and page rules: terminal punctuation, 3 words a line, 5 sentences, javascript, cookies, lorem ipsum, curly braces',
  configSchema: c4QualityConfigSchema,
  async create(config) {
    return {
      process(doc) {
        const r = c4Clean(doc.text, config);
        return r.keep ? { keep: true, document: r.text === doc.text ? doc : { ...doc, text: r.text } } : r;
      },
    };
  },
};
