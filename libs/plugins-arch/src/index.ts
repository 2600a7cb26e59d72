export { decoder, llamaFfnHidden } from './decoder.ts';
export { createLlamaBlock, llamaBlockForward, llamaBlockParameters } from './llama-block.ts';
export type { LlamaBlockConfig, LlamaBlockParams } from './llama-block.ts';
export { normalParameter, onesParameter } from './init.ts';

import { decoder } from './decoder.ts';
import type { ArchitecturePlugin } from '@unilab/core';

/** Every architecture this library provides, for an explicit registry. */
export const architecturePlugins: readonly ArchitecturePlugin<any>[] = [decoder];
