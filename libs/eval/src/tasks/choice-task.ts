import type { LabelledTask } from './labelled-task.ts';

/**
 * A multiple-choice item as few-shot evaluation scores it (lm-evaluation-harness's loglikelihood requests): the
 * context, then one space, then each choice; the model's answer is the choice with the highest log-likelihood.
 */
export interface ChoiceItem {
  context: string;
  choices: string[];
  /** Index of the right choice. */
  gold: number;
}

export interface ChoiceTask {
  name: string;
  description: string;
  /** The few-shot pool: shots are drawn from here, never from `test`. */
  train: ChoiceItem[];
  test: ChoiceItem[];
  /** Accuracy of a guess that knows nothing about the context (1 / choices, or the majority label's share). */
  chance: number;
  seed: number;
}

/** A labelled task as multiple choice: "<passage>\n<question>" followed by " <label name>" for each label. */
export function labelledChoiceTask(task: LabelledTask): ChoiceTask {
  const item = (e: { text: string; label: number }): ChoiceItem => ({ context: `${e.text}\n${task.question}`, choices: [...task.labels], gold: e.label });
  return { name: task.name, description: task.description, train: task.train.map(item), test: task.test.map(item), chance: task.chance, seed: task.seed };
}
