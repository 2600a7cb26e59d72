import { Rng } from '@unilab/core';
import { readSotu, splitHeldOut, type TextDocument } from '@unilab/data';
import type { ChoiceItem, ChoiceTask } from './choice-task.ts';
import { resolveSizes } from './labelled-task.ts';
import { sentenceWindows } from './passages.ts';
import { SOTU_HELD_OUT_FRACTION } from './sotu-party.ts';

/**
 * A LAMBADA-style last-word cloze (Paperno et al. 2016) on held-out State of the Union text: a passage of whole
 * sentences (100-250 bytes) with its final word removed; the model picks that word among four. LAMBADA keeps only
 * passages whose last word needs the wider context; the proxy here is that the word already occurs earlier in the
 * passage. The three distractors are other words of the same passage (4+ letters, distinct), so copying a word from
 * the context does not solve the item: the model must know which of the passage's words fits the end. Scored by
 * log-likelihood like every choice task (LAMBADA's own metric, exact match of the greedy
 * continuation, needs every token's argmax, which a log-likelihood score does not carry). Test passages
 * come from the addresses training holds out by default (139 of their passages qualify; the full suite uses 120),
 * the few-shot pool from the rest.
 */
export const CLOZE_CHOICES = 4;

export async function lastWordClozeTask(sizes: { seed?: number; train?: number; test?: number } = {}): Promise<ChoiceTask> {
  const resolved = resolveSizes({ seed: sizes.seed, trainPerLabel: sizes.train, testPerLabel: sizes.test }, { seed: 1, trainPerLabel: 50, testPerLabel: 120 });
  const { seed } = resolved;
  const { train, heldOut } = splitHeldOut(await readSotu(), SOTU_HELD_OUT_FRACTION);
  const rng = new Rng(seed);
  const [testRng, trainRng] = [rng.fork(), rng.fork()];
  return {
    name: 'last-word-cloze',
    description: 'State of the Union (held out): which of four words from a 100-250 byte passage is its last word?',
    train: clozeItems(train, resolved.trainPerLabel, trainRng, 'last-word-cloze train split'),
    test: clozeItems(heldOut, resolved.testPerLabel, testRng, 'last-word-cloze test split'),
    chance: 1 / CLOZE_CHOICES,
    seed,
  };
}

function clozeItems(docs: readonly TextDocument[], count: number, rng: Rng, where: string): ChoiceItem[] {
  const candidates = rng.shuffle(docs.flatMap((d) => sentenceWindows(d.text, 100, 250)));
  const items: ChoiceItem[] = [];
  for (const passage of candidates) {
    if (items.length === count) break;
    const item = clozeItem(passage, rng);
    if (item) items.push(item);
  }
  if (items.length < count) throw new Error(`${where}: only ${items.length} passages make a cloze item, fewer than the ${count} asked for`);
  return items;
}

/** The passage without its last word, that word and three distractors from the passage; null when it does not qualify. */
export function clozeItem(passage: string, rng: Rng): ChoiceItem | null {
  const m = /^(.*\S)\s+([A-Za-z]{4,})[.!?]["')]?$/.exec(passage);
  if (!m) return null;
  const [, context, target] = m;
  const words: string[] = context.match(/[A-Za-z]{4,}/g) ?? [];
  if (!words.includes(target)) return null;
  const byLowerCase = new Map(words.map((w) => [w.toLowerCase(), w]));
  byLowerCase.delete(target.toLowerCase());
  const distractors = rng.shuffle([...byLowerCase.values()]).slice(0, CLOZE_CHOICES - 1);
  if (distractors.length < CLOZE_CHOICES - 1) return null;
  const choices = rng.shuffle([target, ...distractors]);
  return { context, choices, gold: choices.indexOf(target) };
}
