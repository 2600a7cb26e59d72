import type { ChoiceItem } from '../tasks/choice-task.ts';

/**
 * lm-evaluation-harness's prompt format (its defaults, after GPT-3's): each shot is its context, the target delimiter
 * (one space) and its right answer; shots and the question are separated by a blank line; each choice is scored as
 * the continuation " <choice>" of the finished prompt.
 */
export const FEWSHOT_DELIMITER = '\n\n';
export const TARGET_DELIMITER = ' ';

export function fewShotContext(shots: readonly ChoiceItem[], query: ChoiceItem): string {
  return [...shots.map((s) => `${s.context}${TARGET_DELIMITER}${s.choices[s.gold]}`), query.context].join(FEWSHOT_DELIMITER);
}

export function choiceContinuation(choice: string): string {
  return `${TARGET_DELIMITER}${choice}`;
}
