import { brownGenreTask } from '../tasks/brown-genre.ts';
import { labelledChoiceTask, type ChoiceTask } from '../tasks/choice-task.ts';
import { lastWordClozeTask } from '../tasks/last-word-cloze.ts';
import { sotuPartyTask } from '../tasks/sotu-party.ts';
import { spamHamTask } from '../tasks/spam-ham.ts';
import type { SuiteConfig } from './suite-config.ts';

/** A suite's few-shot tasks, built from the installed corpora at the suite's sizes and seed. */
export async function suiteChoiceTasks(suite: SuiteConfig): Promise<ChoiceTask[]> {
  const seed = suite.seed;
  return [
    labelledChoiceTask(await brownGenreTask({ seed, ...suite.brownGenre })),
    labelledChoiceTask(await sotuPartyTask({ seed, ...suite.sotuParty })),
    labelledChoiceTask(await spamHamTask({ seed, ...suite.spamHam })),
    await lastWordClozeTask({ seed, ...suite.cloze }),
  ];
}
