import { Rng } from '@unilab/core';
import { brownGenreTask } from '../tasks/brown-genre.ts';
import { lastWordClozeTask } from '../tasks/last-word-cloze.ts';
import type { LabelledExample } from '../tasks/labelled-task.ts';
import { instructionPrompt, readPrompt, type InstructionExample, type InstructionTask } from './instruction-task.ts';

/**
 * The five instruction tasks, built from the bundled corpora and seeded: copy a span, reverse a word, extract the
 * n-th word (their inputs come from Brown passages, so train and held-out inputs come from different documents),
 * complete a cloze on State of the Union text (held-out addresses for the held-out split, as in last-word-cloze)
 * and name a Brown passage's genre. The first three verify from the prompt alone; cloze and genre keep the answer
 * of each prompt they wrote (the passage does not carry it).
 */
export interface InstructionSizes {
  seed?: number;
  /** Examples per task in each split. */
  train?: number;
  heldOut?: number;
}

export const INSTRUCTION_TASK_NAMES = ['copy', 'reverse', 'nth-word', 'cloze', 'genre'] as const;

export async function instructionTasks(sizes: InstructionSizes = {}): Promise<InstructionTask[]> {
  const seed = sizes.seed ?? 1;
  const train = sizes.train ?? 200;
  const heldOut = sizes.heldOut ?? 50;
  for (const [field, n] of [['train', train], ['heldOut', heldOut]] as const)
    if (!Number.isInteger(n) || n < 1) throw new Error(`instruction tasks: ${field} must be an integer >= 1, got ${n}`);
  // Four genres, so ceil(n/4) passages per genre cover n examples of every passage-based task.
  const genre = await brownGenreTask({ seed, trainPerLabel: Math.ceil(train / 4), testPerLabel: Math.ceil(heldOut / 4) });
  const cloze = await lastWordClozeTask({ seed, train, test: heldOut });
  const rng = new Rng(seed);
  const trainPassages = genre.train.slice(0, train);
  const heldOutPassages = genre.test.slice(0, heldOut);
  const split = (make: (passages: LabelledExample[], r: Rng) => InstructionExample[]) => {
    const [a, b] = [rng.fork(), rng.fork()];
    return { train: make(trainPassages, a), heldOut: make(heldOutPassages, b) };
  };
  // Words already asked for: no word is asked twice, so no held-out reverse prompt is a training prompt.
  const reversedWords = new Set<string>();
  return [
    { name: 'copy', description: 'repeat the first words of a Brown passage exactly', ...split((ps, r) => ps.map((p) => copyExample(p.text, r))), verify: verifyCopy },
    { name: 'reverse', description: 'spell a word of a Brown passage backwards', ...split((ps, r) => ps.map((p) => reverseExample(p.text, r, reversedWords))), verify: verifyReverse },
    { name: 'nth-word', description: 'give the n-th word (1-5) of a Brown passage', ...split((ps, r) => ps.map((p) => nthWordExample(p.text, r))), verify: verifyNthWord },
    answerKeyTask('cloze', 'the word that ends a State of the Union passage (held-out addresses held out)', {
      train: cloze.train.map((c) => clozeExample(c.context, c.choices, c.gold)),
      heldOut: cloze.test.map((c) => clozeExample(c.context, c.choices, c.gold)),
    }),
    answerKeyTask('genre', 'news, fiction, religion or science: the genre of a Brown passage', {
      train: trainPassages.map((p) => genreExample(p, genre.labels)),
      heldOut: heldOutPassages.map((p) => genreExample(p, genre.labels)),
    }),
  ];
}

const words = (text: string) => text.split(/\s+/).filter((w) => w.length > 0);
const bareWord = (w: string) => w.replace(/^[^A-Za-z]+|[^A-Za-z]+$/g, '');
const same = (a: string, b: string) => a.trim() === b.trim();

/** Copy the first 3-6 words; the wrong answer drops one of them (a near miss a careless copier makes). */
function copyExample(text: string, rng: Rng): InstructionExample {
  const w = words(text);
  const n = Math.min(w.length, 3 + rng.int(4));
  if (n < 2) throw new Error(`copy task: passage "${text}" has fewer than two words`);
  const span = w.slice(0, n);
  const dropped = 1 + rng.int(n - 1);
  const wrong = span.filter((_, i) => i !== dropped).join(' ');
  return { task: 'copy', prompt: instructionPrompt('Copy', span.join(' ')), response: ` ${span.join(' ')}`, wrong: ` ${wrong}` };
}

function verifyCopy(prompt: string, response: string): boolean {
  const read = readPrompt(prompt);
  return read !== null && read.instruction === 'Copy' && same(response, read.input);
}

/** Reverse a word of 4+ letters that is no palindrome and not in `used`; the wrong answer is the word unreversed. */
function reverseExample(text: string, rng: Rng, used: Set<string>): InstructionExample {
  const candidates = [...new Set(words(text).map(bareWord))].filter((w) => w.length >= 4 && reversed(w) !== w && !used.has(w));
  if (candidates.length === 0) throw new Error(`reverse task: no word of 4+ letters not asked before in passage "${text}"`);
  const word = candidates[rng.int(candidates.length)];
  used.add(word);
  return { task: 'reverse', prompt: instructionPrompt('Reverse', word), response: ` ${reversed(word)}`, wrong: ` ${word}` };
}

const reversed = (w: string) => [...w].reverse().join('');

function verifyReverse(prompt: string, response: string): boolean {
  const read = readPrompt(prompt);
  return read !== null && read.instruction === 'Reverse' && same(response, reversed(read.input));
}

const ORDINALS = ['1st', '2nd', '3rd', '4th', '5th'];

/**
 * The n-th word (n = 1..5) of the passage's first six words; the wrong answer is the nearest word after it that
 * differs from it (an off-by-one, unless the passage repeats a word).
 */
function nthWordExample(text: string, rng: Rng): InstructionExample {
  const w = words(text).slice(0, 6);
  const n = rng.int(Math.min(5, w.length - 1));
  const wrong = w.slice(n + 1).find((x) => x !== w[n]) ?? w.slice(0, n).find((x) => x !== w[n]);
  if (wrong === undefined) throw new Error(`nth-word task: passage "${text}" repeats one word`);
  return { task: 'nth-word', prompt: instructionPrompt(`${ORDINALS[n]} word`, w.join(' ')), response: ` ${w[n]}`, wrong: ` ${wrong}` };
}

function verifyNthWord(prompt: string, response: string): boolean {
  const read = readPrompt(prompt);
  if (!read) return false;
  const n = ORDINALS.findIndex((o) => read.instruction === `${o} word`);
  const w = words(read.input);
  return n >= 0 && n < w.length && same(response, w[n]);
}

/** The cloze's missing word; the wrong answer is one of the distractors (a word ending another sentence of the address). */
function clozeExample(context: string, choices: readonly string[], gold: number): InstructionExample {
  return { task: 'cloze', prompt: instructionPrompt('Last word', `${context} ___`), response: ` ${choices[gold]}`, wrong: ` ${choices[(gold + 1) % choices.length]}` };
}

/** The passage's genre; the wrong answer is the next genre in the list. */
function genreExample(p: LabelledExample, labels: readonly string[]): InstructionExample {
  return { task: 'genre', prompt: instructionPrompt('Genre', p.text), response: ` ${labels[p.label]}`, wrong: ` ${labels[(p.label + 1) % labels.length]}` };
}

/**
 * A task whose verifier looks the prompt up in the answers of the examples it built (case ignored for the answer);
 * a prompt it did not build is never verified correct.
 */
function answerKeyTask(name: string, description: string, splits: { train: InstructionExample[]; heldOut: InstructionExample[] }): InstructionTask {
  const key = new Map<string, string>();
  for (const e of [...splits.train, ...splits.heldOut]) key.set(e.prompt, e.response.trim().toLowerCase());
  return { name, description, ...splits, verify: (prompt, response) => key.get(prompt) === response.trim().toLowerCase() };
}
