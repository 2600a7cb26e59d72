import type { Tokenizer } from '@unilab/core';
import { utf8Length } from './corpora/held-out-domains.ts';

/**
 * UTF-8 bytes a run of ordinary tokens stands for: one per token for the byte tokenizer (exact even where the run
 * cuts a character), the length of the decoded text otherwise (a BPE run cut inside a character counts its
 * replacement character, at most a few bytes per run).
 */
export function tokenBytes(tokenizer: Tokenizer, ids: readonly number[]): number {
  return tokenizer.kind === 'byte' ? ids.length : utf8Length(tokenizer.decode(ids));
}
