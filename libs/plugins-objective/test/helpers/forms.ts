import type { BatchForm } from '@unilab/core';

/** The batch form the built-in architecture of this name reads (the tests name architectures as the papers do). */
export function formOf(architecture: string): BatchForm {
  return architecture === 'encoder-decoder' ? 'encoder-decoder' : 'single-stack';
}
