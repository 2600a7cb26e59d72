import type { BatchForm, ObjectiveContext } from '@unilab/core';

/**
 * The byte-level token view used by the tests and by `unilab preview`: bytes are ids 0..255, then eos, pad and the
 * objective's declared special tokens, in that order, from 256 up. Real text becomes its UTF-8 bytes.
 */
export function byteTokenIds(specialTokens: readonly string[]): Record<string, number> {
  const ids: Record<string, number> = {};
  for (const name of ['eos', 'pad', ...specialTokens]) if (!(name in ids)) ids[name] = 256 + Object.keys(ids).length;
  return ids;
}

/** An objective context over the byte-level view, for the given batch shape and form. */
export function byteContext(
  specialTokens: readonly string[],
  shape: { batchSize: number; seqLen: number; encoderLen?: number; form: BatchForm },
): ObjectiveContext {
  const ids = byteTokenIds(specialTokens);
  return { ...shape, vocabSize: 256 + Object.keys(ids).length, specialTokens: ids };
}
