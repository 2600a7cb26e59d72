import { describe, expect, it } from 'vitest';
import { Rng } from '@unilab/core';
import { readSotu, splitHeldOut } from '@unilab/data';
import {
  brownGenreTask,
  clozeItem,
  emailText,
  labelledChoiceTask,
  lastWordClozeTask,
  sotuPartyTask,
  spamHamTask,
  SOTU_HELD_OUT_FRACTION,
  type LabelledTask,
} from '../src/index.ts';

const bytes = (s: string) => new TextEncoder().encode(s).length;
const small = { seed: 7, trainPerLabel: 6, testPerLabel: 10 };

function checkSplits(task: LabelledTask, maxBytes: number) {
  const k = task.labels.length;
  expect(task.test).toHaveLength(small.testPerLabel * k);
  expect(task.train).toHaveLength(small.trainPerLabel * k);
  for (let label = 0; label < k; label++) {
    expect(task.test.filter((e) => e.label === label)).toHaveLength(small.testPerLabel);
    expect(task.train.filter((e) => e.label === label)).toHaveLength(small.trainPerLabel);
  }
  expect(task.chance).toBeCloseTo(1 / k, 12);
  const testSources = new Set(task.test.map((e) => e.source));
  expect(task.train.filter((e) => testSources.has(e.source))).toEqual([]);
  for (const e of [...task.train, ...task.test]) {
    expect(bytes(e.text)).toBeLessThanOrEqual(maxBytes);
    expect(bytes(e.text)).toBeGreaterThanOrEqual(50);
  }
}

describe('labelled tasks from installed corpora', () => {
  it.each([
    ['brown-genre', brownGenreTask],
    ['sotu-party', sotuPartyTask],
    ['spam-ham', spamHamTask],
  ] as const)('%s: balanced splits of the asked sizes, no document in both, the same for the same seed', async (name, build) => {
    const task = await build(small);
    expect(task.name).toBe(name);
    checkSplits(task, 100);
    expect(await build(small)).toEqual(task);
    const other = await build({ ...small, seed: 8 });
    expect(other.test.map((e) => e.text)).not.toEqual(task.test.map((e) => e.text));
    // a smaller train pool does not change the test split
    expect((await build({ ...small, trainPerLabel: 3 })).test).toEqual(task.test);
  });

  it('sotu-party tests only on the addresses a training run holds out, and draws its pool from the rest', async () => {
    const task = await sotuPartyTask(small);
    const heldOut = new Set(splitHeldOut(await readSotu(), SOTU_HELD_OUT_FRACTION).heldOut.map((d) => d.id));
    expect(task.test.every((e) => heldOut.has(e.source))).toBe(true);
    expect(task.train.some((e) => heldOut.has(e.source))).toBe(false);
    for (const e of task.test) expect(e.source).toMatch(task.labels[e.label] === 'Democrat' ? /_d\.txt$/ : /_r\.txt$/);
  });

  it('brown-genre labels come from the file names: news from ca*, fiction from ck-cp, religion from cd, science from cj', async () => {
    const task = await brownGenreTask(small);
    const letters = ['a', 'klmnp', 'd', 'j'];
    for (const e of [...task.train, ...task.test]) expect(letters[e.label]).toContain(e.source.slice('brown/c'.length)[0]);
  });

  it('spam-ham reads what a person reads: no routing headers, no HTML', async () => {
    const task = await spamHamTask(small);
    for (const e of [...task.train, ...task.test]) {
      expect(e.text.startsWith('Subject: ')).toBe(true);
      expect(e.text).not.toMatch(/Received: from|Return-Path:|<\/?(html|body|p|br|font)\b/i);
    }
    expect(task.test.filter((e) => e.label === 1).every((e) => /spam-assassin\/spam-[12]\//.test(e.source))).toBe(true);
  });

  it('refuses sizes that are not positive integers, naming the field', async () => {
    await expect(brownGenreTask({ testPerLabel: 0 })).rejects.toThrow(/testPerLabel must be a positive integer, got 0/);
    await expect(spamHamTask({ trainPerLabel: 1.5 })).rejects.toThrow(/trainPerLabel must be a positive integer/);
    await expect(sotuPartyTask({ testPerLabel: 100000 })).rejects.toThrow(/sotu-party test split: label "Democrat" has \d+ examples, fewer than the 100000/);
  });

  it('a labelled task becomes multiple choice over its label names after the question line', async () => {
    const task = await brownGenreTask(small);
    const choice = labelledChoiceTask(task);
    expect(choice.test[0]).toEqual({ context: `${task.test[0].text}\nGenre:`, choices: ['news', 'fiction', 'religion', 'science'], gold: task.test[0].label });
    expect(choice.chance).toBe(task.chance);
  });
});

describe('emailText', () => {
  it('takes the subject and the first text/plain part, decoding quoted-printable and dropping quoted replies', () => {
    const raw = [
      'Received: from mail.example.com (mail [10.0.0.1])',
      'Subject: =?iso-8859-1?Q?Caf=E9_offer?=',
      'Content-Type: multipart/alternative; boundary="XYZ"',
      '',
      '--XYZ',
      'Content-Type: text/html',
      '',
      '<p>html version</p>',
      '--XYZ',
      'Content-Type: text/plain',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Buy now =3D save 50%, soft=',
      'break here.',
      '> an old quoted line',
      '--XYZ--',
    ].join('\n');
    expect(emailText(raw)).toEqual({ subject: 'Café offer', body: 'Buy now = save 50%, softbreak here.' });
  });

  it('strips HTML markup and decodes base64 bodies', () => {
    const html = 'Subject: hi\nContent-Type: text/html\n\n<html><head><style>p{}</style></head><body><p>Hello&nbsp;<b>world</b> &amp; you</p></body></html>';
    expect(emailText(html).body).toBe('Hello world & you');
    const b64 = `Subject: b\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n${btoa('plain words here')}\n`;
    expect(emailText(b64).body).toBe('plain words here');
  });
});

describe('last-word cloze', () => {
  it('removes the final word and offers it among three distinct words of the pool', () => {
    const passage = 'The tariff was raised on wool. Every farmer who sells wool knows the price of wool.';
    const item = clozeItem(passage, ['Wool', 'cotton', 'grain', 'iron', 'coal'], new Rng(1))!;
    expect(item.context).toBe('The tariff was raised on wool. Every farmer who sells wool knows the price of');
    expect(item.choices[item.gold]).toBe('wool');
    expect(item.choices).toHaveLength(4);
    expect(new Set(item.choices.map((c) => c.toLowerCase())).size).toBe(4);
    for (const c of item.choices.filter((_, i) => i !== item.gold)) expect(['cotton', 'grain', 'iron', 'coal']).toContain(c);
    expect(clozeItem(passage, ['wool', 'cotton', 'grain'], new Rng(1))).toBeNull();
    expect(clozeItem('It ends in a number 42.', ['cotton', 'grain', 'iron'], new Rng(1))).toBeNull();
  });

  it('builds its test split from held-out addresses, deterministic by seed, chance 1/4', async () => {
    const task = await lastWordClozeTask({ seed: 3, train: 5, test: 12 });
    expect(task.test).toHaveLength(12);
    expect(task.train).toHaveLength(5);
    expect(task.chance).toBe(0.25);
    expect(await lastWordClozeTask({ seed: 3, train: 5, test: 12 })).toEqual(task);
    const heldOutText = splitHeldOut(await readSotu(), SOTU_HELD_OUT_FRACTION).heldOut.map((d) => d.text.replace(/\s+/g, ' ')).join('\n');
    for (const item of task.test) {
      expect(heldOutText).toContain(`${item.context} ${item.choices[item.gold]}`);
      expect(item.choices).toHaveLength(4);
      expect(bytes(item.context)).toBeLessThanOrEqual(100);
    }
  });
});
