import type { ObjectivePlugin } from '@unilab/core';
import { clm } from './clm.ts';

export { clm } from './clm.ts';
export type { Example, RowSpace } from './example.ts';
export type { PackingBatcher, PackingBatcherState, ObjectiveCounts } from './packing.ts';

/** Every objective plugin of this library, for explicit registration (nothing registers itself on import). */
export const objectivePlugins: readonly ObjectivePlugin<any>[] = [clm];
