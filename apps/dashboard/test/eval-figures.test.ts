import { describe, expect, it } from 'vitest';
import { evalFigures } from '../src/eval-figures.ts';

describe('evalFigures', () => {
  it('finds bootstrap estimates and Wilson proportions wherever they sit, named by domain, mode and task', () => {
    // The shape of an evaluation report (libs/eval's EvalReport), cut to one figure of each kind.
    const report = {
      format: 'unilab-eval/1',
      model: { architecture: 'decoder', parameters: 11_000 },
      likelihood: {
        bitsPerByte: { chunkTokens: 64, domains: [{ domain: 'sotu', bitsPerByte: { value: 2.5, low: 2.4, high: 2.6, n: 12, level: 0.95 }, uniformBitsPerByte: 3.2 }] },
        modes: { domain: 'sotu', results: [{ mode: 'R', natsPerToken: { value: 3.1, low: NaN, high: NaN, n: 1, level: 0.95 } }] },
      },
      fewShot: { results: [{ task: 'brown-genre', shots: 3, acc: { successes: 30, n: 100, value: 0.3, ci95: [0.22, 0.4] }, correct: [1, 0] }] },
    };
    expect(evalFigures(report)).toEqual([
      { label: 'bitsPerByte · sotu · bitsPerByte', value: 2.5, low: 2.4, high: 2.6, n: 12 },
      { label: 'modes · R · natsPerToken', value: 3.1, low: null, high: null, n: 1 },
      { label: 'brown-genre · acc', value: 0.3, low: 0.22, high: 0.4, n: 100 },
    ]);
    expect(evalFigures(null)).toEqual([]);
  });
});
