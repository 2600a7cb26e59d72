export type { LabelledExample, LabelledTask, TaskSizes } from './labelled-task.ts';
export type { ChoiceItem, ChoiceTask } from './choice-task.ts';
export { labelledChoiceTask } from './choice-task.ts';
export { brownGenreTask } from './brown-genre.ts';
export { sotuPartyTask, SOTU_HELD_OUT_FRACTION } from './sotu-party.ts';
export { spamHamTask } from './spam-ham.ts';
export { lastWordClozeTask, clozeItem, CLOZE_CHOICES } from './last-word-cloze.ts';
export { emailText } from './email-text.ts';
export { passages, sentences } from './passages.ts';
