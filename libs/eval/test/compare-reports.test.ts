import { describe, expect, it } from 'vitest';
import { compareReports, proportion, type EvalReport, type FewShotFigure } from '../src/index.ts';

const estimate = (value: number, low: number, high: number) => ({ value, low, high, n: 8, level: 0.95 });

function figure(task: string, correct: number[]): FewShotFigure {
  const k = correct.reduce((s, c) => s + c, 0);
  return { task, description: '', shots: 0, n: correct.length, acc: proportion(k, correct.length), accNorm: proportion(k, correct.length), chance: 0.5, truncated: 0, correct, correctNorm: correct };
}

function report(bpb: ReturnType<typeof estimate>, correct: number[]): EvalReport {
  const domain = { domain: 'sotu', bitsPerByte: bpb, natsPerToken: bpb, uniformBitsPerByte: 8, documents: 8, tokens: 1, bytes: 1, provenance: '' };
  return {
    format: 'unilab-eval/1',
    suite: 'quick',
    checkpoint: 'x',
    model: { architecture: 'decoder', objective: 'clm', seqLen: 64, vocabSize: 260, parameters: 1 },
    likelihood: { architecture: 'decoder', objective: 'clm', vocabSize: 260, seqLen: 64, bitsPerByte: { format: '', chunkTokens: 32, domains: [domain] }, modes: { domain: 'sotu', results: [] } },
    fewShot: { reading: '', results: [figure('spam-ham', correct)], skippedTasks: [] },
    skipped: {},
    seconds: 1,
  };
}

describe('compareReports', () => {
  it('compares few-shot items pairwise (McNemar) and likelihood figures by interval overlap', () => {
    // 100 items: a is right on 70, b on the same 55 plus 0 others -> 15 discordant items all for a: p = 2^-14.
    const a = Array.from({ length: 100 }, (_, i) => (i < 70 ? 1 : 0));
    const b = Array.from({ length: 100 }, (_, i) => (i < 55 ? 1 : 0));
    const rows = compareReports(report(estimate(2.0, 1.9, 2.1), a), report(estimate(2.3, 2.2, 2.4), b));
    expect(rows.find((r) => r.figure === 'bits per byte sotu')).toEqual({ figure: 'bits per byte sotu', a: 2.0, b: 2.3, differ: true, method: 'interval-overlap' });
    const acc = rows.find((r) => r.figure === 'spam-ham k=0 acc')!;
    expect(acc).toMatchObject({ a: 0.7, b: 0.55, differ: true, method: 'mcnemar-exact' });
    expect(acc.pValue).toBeCloseTo(2 ** -14, 12);

    const close = compareReports(report(estimate(2.0, 1.9, 2.1), a), report(estimate(2.05, 1.95, 2.15), a));
    expect(close.map((r) => r.differ)).toEqual([false, false, false]);
    // An interval that could not be measured (NaN, or null after JSON) never claims a difference.
    expect(compareReports(report(estimate(2.0, NaN, NaN), a), report(estimate(3.0, 2.9, 3.1), a))[0].differ).toBe(false);
  });

  it('refuses reports of different suites', () => {
    const other = { ...report(estimate(2, 1.9, 2.1), [1]), suite: 'default' as const };
    expect(() => compareReports(report(estimate(2, 1.9, 2.1), [1]), other)).toThrow(/different suites \(quick and default\)/);
  });
});
