import { Rng } from '@unilab/core';
import { passages } from './passages.ts';
import type { LabelledExample } from './labelled-task.ts';

export interface LabelledDocument {
  id: string;
  text: string;
  label: number;
}

/**
 * Split documents (not passages) between train and test, per label, so no document lends passages to both sides:
 * a few-shot prompt never shows the model a sentence from the document it is asked about.
 */
export function splitDocumentsByLabel<T extends { label: number }>(docs: readonly T[], labelCount: number, testFraction: number, rng: Rng): { train: T[]; test: T[] } {
  const train: T[] = [];
  const test: T[] = [];
  for (let label = 0; label < labelCount; label++) {
    const mine = rng.shuffle(docs.filter((d) => d.label === label));
    const nTest = Math.max(1, Math.round(mine.length * testFraction));
    test.push(...mine.slice(0, nTest));
    train.push(...mine.slice(nTest));
  }
  return { train, test };
}

/** Every passage of every document, labelled with its document's label. */
export function passageExamples(docs: readonly LabelledDocument[], minBytes: number, maxBytes: number): LabelledExample[] {
  return docs.flatMap((d) => passages(d.text, minBytes, maxBytes).map((text) => ({ text, label: d.label, source: d.id })));
}

/**
 * perLabel examples of each label, drawn without replacement by rng and returned shuffled (labels interleaved).
 * Fails with the task, split and label named when a label has too few.
 */
export function drawBalanced(pool: readonly LabelledExample[], labels: readonly string[], perLabel: number, rng: Rng, where: string): LabelledExample[] {
  const out: LabelledExample[] = [];
  labels.forEach((name, label) => {
    const mine = pool.filter((e) => e.label === label);
    if (mine.length < perLabel) throw new Error(`${where}: label "${name}" has ${mine.length} examples, fewer than the ${perLabel} asked for`);
    out.push(...rng.shuffle(mine).slice(0, perLabel));
  });
  return rng.shuffle(out);
}
