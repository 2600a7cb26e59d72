import type { ObjectiveContext } from '@unilab/core';

/**
 * The byte-level token view used by the tests and by `unilab preview`: bytes are ids 0..255, then eos, pad and the
 * objective's declared special tokens in order.
 */
export function byteContext(
  specialTokens: readonly string[],
  shape: { batchSize: number; seqLen: number; encoderLen?: number; architecture: string },
): ObjectiveContext {
  const ids: Record<string, number> = {};
  for (const name of ['eos', 'pad', ...specialTokens]) if (!(name in ids)) ids[name] = 256 + Object.keys(ids).length;
  return { ...shape, vocabSize: 256 + Object.keys(ids).length, specialTokens: ids };
}
