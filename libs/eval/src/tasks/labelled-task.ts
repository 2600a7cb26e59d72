/**
 * A labelled text-classification task built from real data: every example is a passage of text and the index of
 * its label. Tasks are plain data, so few-shot evaluation (as multiple choice over the label names) and fine-tuning
 * (as a classification head over the label indices) read the same examples.
 */
export interface LabelledExample {
  text: string;
  /** Index into the task's `labels`. */
  label: number;
  /** Where the passage came from (document id), so a reader can check that train and test never share a document. */
  source: string;
}

export interface LabelledTask {
  name: string;
  description: string;
  /** Label names; few-shot evaluation scores each as an answer word after `question`. */
  labels: readonly string[];
  /** The line that asks for the label in a prompt, e.g. "Genre:" (the answer follows after one space). */
  question: string;
  /** The pool few-shot examples and fine-tuning draw from. */
  train: LabelledExample[];
  test: LabelledExample[];
  /** Accuracy of always answering the test split's most frequent label (1 / labels when the split is balanced). */
  chance: number;
  /** The seed that drew both splits: the same seed gives the same examples in the same order. */
  seed: number;
}

/** Sizes every task builder takes; the defaults are the full suite's, tests pass smaller ones. */
export interface TaskSizes {
  seed?: number;
  /** Examples of each label in the train split (the few-shot pool). */
  trainPerLabel?: number;
  /** Examples of each label in the test split. */
  testPerLabel?: number;
}

export function resolveSizes(sizes: TaskSizes, defaults: Required<TaskSizes>): Required<TaskSizes> {
  const s = { ...defaults, ...Object.fromEntries(Object.entries(sizes).filter(([, v]) => v !== undefined)) } as Required<TaskSizes>;
  for (const key of ['trainPerLabel', 'testPerLabel'] as const)
    if (!Number.isInteger(s[key]) || s[key] < 1) throw new Error(`task sizes: ${key} must be a positive integer, got ${s[key]}`);
  if (!Number.isInteger(s.seed)) throw new Error(`task sizes: seed must be an integer, got ${s.seed}`);
  return s;
}

/** Accuracy of always answering the most frequent label. */
export function majorityRate(labels: readonly number[]): number {
  if (labels.length === 0) return 0;
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  return Math.max(...counts.values()) / labels.length;
}
