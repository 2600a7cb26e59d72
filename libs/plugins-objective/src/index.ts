import type { ObjectivePlugin } from '@unilab/core';
import { bertMlm } from './bert-mlm.ts';
import { clm } from './clm.ts';
import { glm } from './glm.ts';
import { prefixLm } from './prefix-lm.ts';
import { sclm } from './sclm.ts';
import { spanCorruption } from './t5-span-corruption.ts';
import { ul2 } from './ul2.ts';
import { unilm } from './unilm.ts';

export { bertMlm } from './bert-mlm.ts';
export { clm } from './clm.ts';
export { glm, glmSettings, GLM_PRESETS, BYTE_SENTENCE_ENDS, type GlmBlankKind, type GlmSettings } from './glm.ts';
export { blankInfillingExample, type BlankInfillingTokens } from './blank-infilling.ts';
export { prefixLm } from './prefix-lm.ts';
export { sclm } from './sclm.ts';
export { spanCorruption } from './t5-span-corruption.ts';
export { ul2, UL2_DENOISERS, UL2_MODE_TOKENS, denoiserLabel, type Ul2Denoiser, type Ul2Paradigm } from './ul2.ts';
export { unilm, type UnilmMode } from './unilm.ts';
export { spanCorruptionLengths, sampleNoiseSpans, spanCorruptionPair, type SpanCorruptionSettings, type NoiseSpan } from './span-corruption.ts';
export { sentinelTokenNames } from './sentinels.ts';
export { byteContext, byteTokenIds } from './byte-token-view.ts';
export type { Example, RowSpace } from './example.ts';
export type { PackingBatcher, PackingBatcherState, ObjectiveCounts } from './packing.ts';

/** Every objective plugin of this library, for explicit registration (nothing registers itself on import). */
export const objectivePlugins: readonly ObjectivePlugin<any>[] = [clm, prefixLm, spanCorruption, sclm, unilm, ul2, glm, bertMlm];
