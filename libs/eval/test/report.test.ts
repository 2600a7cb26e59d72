import { describe, expect, it } from 'vitest';
import { evaluateLikelihood, formatLikelihoodReport } from '../src/index.ts';
import { sotuSubset, trainTiny } from './fixtures.ts';

describe('the likelihood report', () => {
  it('has bits per byte for every domain and the three modes, each with interval, sample size and chance', async () => {
    const corpus = await sotuSubset(3);
    const { model } = await trainTiny(corpus, 'encoder-decoder', { name: 'span-corruption' }, { steps: 3 });
    const report = await evaluateLikelihood(model, {
      domains: { sotuDocuments: 2, brownDocumentsPerGenre: 2, udhrLanguages: ['fra'], udhrPieces: 2, bytesPerDocument: 200 },
      modes: { pieceTokens: 32, piecesPerDocument: 2 },
      resamples: 200,
    });
    expect(report.bitsPerByte.domains.map((d) => d.domain)).toHaveLength(1 + 15 + 1);
    expect(report.modes.results.map((m) => m.mode)).toEqual(['lm', 'infilling', 'seq2seq']);
    expect(report.objective).toBe('span-corruption');
    const text = formatLikelihoodReport(report);
    expect(text).toContain('encoder-decoder trained by span-corruption (vocab 358, length 48)');
    expect(text).toMatch(/\n {2}udhr\/fra +\d\.\d{3} +\[\d\.\d{3}, \d\.\d{3}\] +8\.484 +2 +\d+\n/);
    expect(text).toMatch(/\n {2}brown\/science_fiction +\d\.\d{3} +\[\d\.\d{3}, \d\.\d{3}\] +8\.484 +2 +398\n/);
    expect(text).toMatch(/\n {2}infilling +\d\.\d{3} +\[\d\.\d{3}, \d\.\d{3}\] +5\.881 /);
    expect(text).toContain('read as sentinels: text with <extra_id_k> per span <eos>');
    console.info(text);
  });
});
