import { Rng } from '@unilab/core';
import { splitHeldOut, type TextDocument } from '@unilab/data';
import { sotuDocuments } from './corpus-cache.ts';
import type { ChoiceItem, ChoiceTask } from './choice-task.ts';
import { resolveSizes } from './labelled-task.ts';
import { PASSAGE_BYTES, sentenceWindows, sentences } from './passages.ts';
import { SOTU_HELD_OUT_FRACTION } from './sotu-party.ts';

/**
 * A LAMBADA-style last-word cloze (Paperno et al. 2016) on held-out State of the Union text: a passage of whole
 * sentences (50-100 bytes, so that it fits a small model's context) with its final word removed; the model picks
 * that word among four. The three distractors are the last words of other sentences of the same address: words of
 * the same topic and the same sentence-final role (mostly nouns), so neither the topic nor the part of speech gives
 * the answer away; the passage does. Scored by log-likelihood like every choice task (LAMBADA's own metric, exact
 * match of the greedy continuation, needs every token's argmax, which a log-likelihood score does not carry). Test
 * passages come from the addresses training holds out by default, the few-shot pool from the rest.
 */
export const CLOZE_CHOICES = 4;

export async function lastWordClozeTask(sizes: { seed?: number; train?: number; test?: number } = {}): Promise<ChoiceTask> {
  const resolved = resolveSizes({ seed: sizes.seed, trainPerLabel: sizes.train, testPerLabel: sizes.test }, { seed: 1, trainPerLabel: 50, testPerLabel: 200 });
  const { seed } = resolved;
  const { train, heldOut } = splitHeldOut([...(await sotuDocuments())], SOTU_HELD_OUT_FRACTION);
  const rng = new Rng(seed);
  const [testRng, trainRng] = [rng.fork(), rng.fork()];
  return {
    name: 'last-word-cloze',
    description: `State of the Union (held out): which of four words ends a ${PASSAGE_BYTES.min}-${PASSAGE_BYTES.max} byte passage? (distractors: last words of other sentences of the address)`,
    train: clozeItems(train, resolved.trainPerLabel, trainRng, 'last-word-cloze train split'),
    test: clozeItems(heldOut, resolved.testPerLabel, testRng, 'last-word-cloze test split'),
    chance: 1 / CLOZE_CHOICES,
    seed,
  };
}

const LAST_WORD = /^(.*\S)\s+([A-Za-z]{4,})[.!?]["')]?$/;

function clozeItems(docs: readonly TextDocument[], count: number, rng: Rng, where: string): ChoiceItem[] {
  const candidates = rng.shuffle(
    docs.flatMap((d) => {
      const finals = [...new Set(sentences(d.text).flatMap((s) => LAST_WORD.exec(s)?.[2] ?? []))];
      return sentenceWindows(d.text, PASSAGE_BYTES.min, PASSAGE_BYTES.max).map((passage) => ({ passage, finals }));
    }),
  );
  const items: ChoiceItem[] = [];
  for (const { passage, finals } of candidates) {
    if (items.length === count) break;
    const item = clozeItem(passage, finals, rng);
    if (item) items.push(item);
  }
  if (items.length < count) throw new Error(`${where}: only ${items.length} passages make a cloze item, fewer than the ${count} asked for`);
  return items;
}

/**
 * The passage without its last word, and that word among three distractors drawn from `pool` (distinct, whatever
 * their case); null when the passage does not end in a word of 4+ letters or the pool is too small.
 */
export function clozeItem(passage: string, pool: readonly string[], rng: Rng): ChoiceItem | null {
  const m = LAST_WORD.exec(passage);
  if (!m) return null;
  const [, context, target] = m;
  const byLowerCase = new Map(pool.map((w) => [w.toLowerCase(), w]));
  byLowerCase.delete(target.toLowerCase());
  if (byLowerCase.size < CLOZE_CHOICES - 1) return null;
  const distractors = rng.shuffle([...byLowerCase.values()]).slice(0, CLOZE_CHOICES - 1);
  const choices = rng.shuffle([target, ...distractors]);
  return { context, choices, gold: choices.indexOf(target) };
}
