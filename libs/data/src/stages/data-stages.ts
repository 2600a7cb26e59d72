import type { DataStagePlugin } from '@unilab/core';
import { eldLanguageStage } from './language-id-eld.ts';
import { fasttextLanguageStage } from './language-id-fasttext.ts';
import { gopherQualityStage } from '../quality/gopher-quality.ts';
import { gopherRepetitionStage } from '../quality/gopher-repetition.ts';
import { c4QualityStage } from '../quality/c4-quality.ts';
import { finewebQualityStage } from '../quality/fineweb-quality.ts';
import { perplexityFilterStage } from '../quality/perplexity-filter.ts';
import { exactDedupStage } from '../dedup/exact-dedup.ts';
import { minhashDedupStage } from '../dedup/minhash-dedup.ts';

/** The data stages this library ships, for an application to register explicitly (nothing registers on import). */
export const dataStagePlugins: readonly DataStagePlugin<any>[] = [
  eldLanguageStage,
  fasttextLanguageStage,
  gopherQualityStage,
  gopherRepetitionStage,
  c4QualityStage,
  finewebQualityStage,
  perplexityFilterStage,
  exactDedupStage,
  minhashDedupStage,
];
