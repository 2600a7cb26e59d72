import type { ObjectivePlugin } from '@unilab/core';
import { clm } from './clm.ts';
import { prefixLm } from './prefixLm.ts';
import { spanCorruption } from './t5SpanCorruption.ts';

export { clm } from './clm.ts';
export { prefixLm } from './prefixLm.ts';
export { spanCorruption } from './t5SpanCorruption.ts';
export { spanCorruptionLengths, type SpanCorruptionSettings } from './spanCorruption.ts';
export type { Example, RowSpace } from './example.ts';
export type { PackingBatcher, PackingBatcherState, ObjectiveCounts } from './packing.ts';

/** Every objective plugin of this library, for explicit registration (nothing registers itself on import). */
export const objectivePlugins: readonly ObjectivePlugin<any>[] = [clm, prefixLm, spanCorruption];
