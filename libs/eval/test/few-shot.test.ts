import { describe, expect, it } from 'vitest';
import { evaluateFewShot, labelledChoiceTask, spamHamTask, type ChoiceTask, type ScoreFn, type ScoreRequest } from '../src/index.ts';

const bytes = (s: string) => new TextEncoder().encode(s).length;

const task: ChoiceTask = {
  name: 'toy',
  description: 'toy',
  train: [
    { context: 'A1', choices: ['x', 'y'], gold: 0 },
    { context: 'A2', choices: ['x', 'y'], gold: 1 },
    { context: 'A3', choices: ['x', 'y'], gold: 0 },
  ],
  test: [
    { context: 'Q1', choices: ['a', 'bbbbbb'], gold: 1 },
    { context: 'Q2', choices: ['a', 'bbbbbb'], gold: 0 },
  ],
  chance: 0.5,
  seed: 1,
};

/** A scorer that records what it was asked and answers from a table of log-likelihoods per continuation. */
function tableScorer(table: Record<string, number>, seen: ScoreRequest[] = [], window = Infinity): ScoreFn {
  return async (requests) => {
    seen.push(...requests);
    return requests.map((r) => ({ logprob: table[r.continuation], tokens: bytes(r.continuation), bytes: bytes(r.continuation), truncated: bytes(r.context + r.continuation) > window }));
  };
}

describe('few-shot evaluation (lm-evaluation-harness conventions)', () => {
  it('formats shots as "context answer" separated by blank lines, then the question; each choice is " choice"', async () => {
    const seen: ScoreRequest[] = [];
    await evaluateFewShot(task, tableScorer({ ' a': -1, ' bbbbbb': -2 }, seen), { shots: 2, seed: 4 });
    expect(seen).toHaveLength(4);
    expect(seen[0].context).toMatch(/^A\d (x|y)\n\nA\d (x|y)\n\nQ1$/);
    expect(seen[0].context).toBe(seen[1].context);
    expect(seen.map((r) => r.continuation)).toEqual([' a', ' bbbbbb', ' a', ' bbbbbb']);
    for (const r of seen) {
      const shots = r.context.split('\n\n').slice(0, -1);
      expect(new Set(shots).size).toBe(2);
      for (const s of shots) expect(['A1 x', 'A2 y', 'A3 x']).toContain(s);
    }
    const again: ScoreRequest[] = [];
    await evaluateFewShot(task, tableScorer({ ' a': -1, ' bbbbbb': -2 }, again), { shots: 2, seed: 4 });
    expect(again).toEqual(seen);
    const zero: ScoreRequest[] = [];
    await evaluateFewShot(task, tableScorer({ ' a': -1, ' bbbbbb': -2 }, zero), { shots: 0, seed: 4 });
    expect(zero[0].context).toBe('Q1');
  });

  it('acc takes the most likely choice, acc_norm the most likely per byte of the choice', async () => {
    // ' a' -3 nats (3 per byte of "a"), ' bbbbbb' -6 nats (1 per byte): acc picks a, acc_norm picks bbbbbb.
    const r = await evaluateFewShot(task, tableScorer({ ' a': -3, ' bbbbbb': -6 }), { shots: 1, seed: 1 });
    expect(r.items.map((i) => [i.pick, i.pickNorm])).toEqual([[0, 1], [0, 1]]);
    expect(r.acc).toMatchObject({ successes: 1, n: 2, value: 0.5 });
    expect(r.accNorm).toMatchObject({ successes: 1, n: 2, value: 0.5 });
    expect(r.items[0]).toMatchObject({ gold: 1, logprobs: [-3, -6] });
    expect(r.chance).toBe(0.5);
    expect(r.acc.ci95[0]).toBeLessThan(0.5);
    expect(r.acc.ci95[1]).toBeGreaterThan(0.5);
  });

  it('counts the prompts the scorer had to cut from the left', async () => {
    const r = await evaluateFewShot(task, tableScorer({ ' a': -1, ' bbbbbb': -2 }, [], 12), { shots: 2, seed: 1 });
    expect(r.truncated).toBe(2);
    expect((await evaluateFewShot(task, tableScorer({ ' a': -1, ' bbbbbb': -2 }, [], 12), { shots: 0, seed: 1 })).truncated).toBe(0);
  });

  it('refuses more shots than the pool holds, and a scorer that loses requests', async () => {
    await expect(evaluateFewShot(task, tableScorer({}), { shots: 4, seed: 1 })).rejects.toThrow(/4 shots asked of task toy, whose pool holds 3/);
    await expect(evaluateFewShot(task, tableScorer({}), { shots: -1, seed: 1 })).rejects.toThrow(/shots must be a non-negative integer, got -1/);
    await expect(evaluateFewShot(task, async () => [], { shots: 0, seed: 1 })).rejects.toThrow(/returned 0 scores for 4 requests/);
  });

  it('on real data: the few-shot pool never lends a shot from a test document, and k = 5 prompts hold five solved passages', async () => {
    const spam = await spamHamTask({ seed: 2, trainPerLabel: 5, testPerLabel: 4 });
    const seen: ScoreRequest[] = [];
    const score: ScoreFn = async (requests) => {
      seen.push(...requests);
      return requests.map(() => ({ logprob: -1, tokens: 1, bytes: 1, truncated: false }));
    };
    const r = await evaluateFewShot(labelledChoiceTask(spam), score, { shots: 5, seed: 9 });
    expect(r.n).toBe(8);
    expect(seen).toHaveLength(16);
    const testTexts = spam.test.map((e) => e.text);
    for (const req of seen) {
      const blocks = req.context.split('\n\n');
      expect(blocks).toHaveLength(6);
      for (const shot of blocks.slice(0, 5)) {
        expect(shot).toMatch(/\nSpam or ham: (ham|spam)$/);
        expect(testTexts.some((t) => shot.startsWith(t))).toBe(false);
      }
    }
  });
});
