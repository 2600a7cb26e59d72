import { describe, expect, it } from 'vitest';
import { alignmentJsonl, comparisons, demonstrations, instructionTasks, parseAlignmentJsonl, preferencePairs, INSTRUCTION_TASK_NAMES } from '../src/index.ts';

describe('alignment data', () => {
  it('every task verifies its own responses and rejects its wrong ones, on both splits', async () => {
    const tasks = await instructionTasks({ seed: 3, train: 24, heldOut: 8 });
    expect(tasks.map((t) => t.name)).toEqual([...INSTRUCTION_TASK_NAMES]);
    for (const t of tasks) {
      expect(t.train.length, t.name).toBe(24);
      expect(t.heldOut.length, t.name).toBe(8);
      for (const e of [...t.train, ...t.heldOut]) {
        expect(t.verify(e.prompt, e.response), `${t.name}: ${e.prompt} -> ${e.response}`).toBe(true);
        expect(t.verify(e.prompt, e.wrong), `${t.name}: ${e.prompt} -> ${e.wrong}`).toBe(false);
        expect(e.response.startsWith(' ') && e.prompt.endsWith('\nAnswer:')).toBe(true);
      }
      // No held-out prompt is a training prompt.
      const trainPrompts = new Set(t.train.map((e) => e.prompt));
      expect(t.heldOut.filter((e) => trainPrompts.has(e.prompt)).length, t.name).toBe(0);
    }
  });

  it('verifiers read the prompt: a hand-written prompt is checked, a foreign one fails', async () => {
    const tasks = await instructionTasks({ seed: 1, train: 4, heldOut: 4 });
    const byName = Object.fromEntries(tasks.map((t) => [t.name, t]));
    expect(byName.reverse.verify('Reverse: stone\nAnswer:', ' enots')).toBe(true);
    expect(byName.reverse.verify('Reverse: stone\nAnswer:', ' stone')).toBe(false);
    expect(byName.copy.verify('Copy: the old house\nAnswer:', ' the old house ')).toBe(true);
    expect(byName.copy.verify('Copy: the old house\nAnswer:', ' the house')).toBe(false);
    expect(byName['nth-word'].verify('3rd word: a b c d\nAnswer:', ' c')).toBe(true);
    expect(byName['nth-word'].verify('3rd word: a b c d\nAnswer:', ' d')).toBe(false);
    expect(byName.genre.verify('Genre: a passage nobody wrote\nAnswer:', ' news')).toBe(false);
    expect(byName.copy.verify('Reverse: the\nAnswer:', ' the')).toBe(false);
  });

  it('the same seed gives the same data, another seed other data', async () => {
    const a = await instructionTasks({ seed: 5, train: 8, heldOut: 4 });
    const b = await instructionTasks({ seed: 5, train: 8, heldOut: 4 });
    const c = await instructionTasks({ seed: 6, train: 8, heldOut: 4 });
    expect(b.map((t) => t.train)).toEqual(a.map((t) => t.train));
    expect(c.map((t) => t.train)).not.toEqual(a.map((t) => t.train));
  });

  it('preference pairs are verifier-ranked and flipped at the noise rate', async () => {
    const tasks = await instructionTasks({ seed: 2, train: 200, heldOut: 4 });
    const examples = tasks.flatMap((t) => t.train);
    const verify = Object.fromEntries(tasks.map((t) => [t.name, t.verify]));
    const clean = preferencePairs(examples, 0, 9);
    expect(clean.every((p) => !p.flipped && verify[p.task](p.prompt, p.chosen) && !verify[p.task](p.prompt, p.rejected))).toBe(true);
    const noisy = preferencePairs(examples, 0.2, 9);
    const flipped = noisy.filter((p) => p.flipped);
    // 1000 pairs at rate 0.2: the count is Binomial(1000, 0.2), sd 12.6; ±5 sd.
    expect(Math.abs(flipped.length - 200)).toBeLessThan(63);
    expect(flipped.every((p) => !verify[p.task](p.prompt, p.chosen) && verify[p.task](p.prompt, p.rejected))).toBe(true);
    expect(() => preferencePairs(examples, 0.5, 1)).toThrow(/noise rate/);
  });

  it('JSONL round-trips and a bad line is named with its line number and field', () => {
    const records = [
      { prompt: 'Copy: a b\nAnswer:', response: ' a b' },
      { prompt: 'Reverse: stone\nAnswer:', chosen: ' enots', rejected: ' stone', task: 'reverse', flipped: false },
    ];
    const parsed = parseAlignmentJsonl(alignmentJsonl(records), 'pairs.jsonl');
    expect(demonstrations(parsed, 'f')).toEqual([records[0]]);
    expect(comparisons(parsed, 'f')).toEqual([records[1]]);
    const bad = (text: string) => () => parseAlignmentJsonl(text, 'user.jsonl');
    expect(bad('{"prompt":"p","response":"r"}\n{"prompt":"p"\n')).toThrow(/user\.jsonl line 2: not valid JSON/);
    expect(bad('\n{"prompt":"p","response":3}')).toThrow(/user\.jsonl line 2: field "response" must be a string/);
    expect(bad('{"prompt":"p","chosen":"a"}')).toThrow(/line 1: field "rejected" must be a string, got nothing/);
    expect(bad('{"prompt":"p","chosen":"a","rejected":"a"}')).toThrow(/line 1: "chosen" and "rejected" are the same/);
    expect(bad('{"prompt":"","response":"r"}')).toThrow(/line 1: field "prompt" is empty/);
    expect(bad('[1,2]')).toThrow(/line 1: expected a JSON object/);
    expect(bad('{"prompt":"p","response":"r","chosen":"a","rejected":"b"}')).toThrow(/not both/);
    expect(bad('\n\n')).toThrow(/user\.jsonl: no records/);
    expect(() => comparisons(parseAlignmentJsonl('{"prompt":"p","response":"r"}', 'd.jsonl'), 'd.jsonl')).toThrow(/d\.jsonl: no comparisons/);
  });
});
