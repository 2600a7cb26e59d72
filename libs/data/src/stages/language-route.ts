import type { PipelineDocument, StageDecision } from '@unilab/core';

/** What a language identifier says about a text: an ISO 639-1 code ('' when undetermined) and a confidence in 0..1. */
export interface LanguageGuess {
  language: string;
  confidence: number;
  /** Why there is no language (language ''), when it is not simply that the identifier found none. */
  reason?: string;
}

export interface LanguageRouting {
  /** Keep only these languages (ISO 639-1); empty keeps every language. */
  languages: readonly string[];
  /** Drop a document whose top language scores below this. */
  minConfidence: number;
}

/**
 * The shared half of every language-ID stage: label the document with its language (later stages and mixtures
 * route on it) and drop it when the identifier is unsure or the language is not wanted.
 */
export function routeByLanguage(doc: PipelineDocument, guess: LanguageGuess, routing: LanguageRouting): StageDecision {
  if (!guess.language) return { keep: false, reason: guess.reason ?? 'undetermined' };
  if (guess.confidence < routing.minConfidence) return { keep: false, reason: 'low_confidence' };
  if (routing.languages.length > 0 && !routing.languages.includes(guess.language)) return { keep: false, reason: `language_${guess.language}` };
  return { keep: true, document: { ...doc, language: guess.language } };
}

/** The start of a document is enough to tell its language and keeps the cost per document bounded. */
export function languageSample(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : text.slice(0, maxChars);
}

/** The report's view of the languages seen: the ten most frequent and how many languages in all. */
export function languageSummary(counts: ReadonlyMap<string, number>): Record<string, number> {
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return { languages: sorted.length, ...Object.fromEntries(sorted.slice(0, 10).map(([k, v]) => [`seen_${k}`, v])) };
}
