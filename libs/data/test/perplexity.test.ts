import { describe, expect, it } from 'vitest';
import { perplexityFilterStage, readSotu, trainByteNgramModel } from '../src/index.ts';
import { percentile, trainReferenceModel } from '../src/quality/perplexity-filter.ts';

const encode = (s: string) => new TextEncoder().encode(s);

describe('byte n-gram model (Witten-Bell)', () => {
  const model = trainByteNgramModel([encode('the cat sat on the mat. the dog sat on the log.')], 4);

  it('is a probability distribution over the next byte in every context', () => {
    for (const context of ['the c', 'zzz', '', 'on th']) {
      let total = 0;
      const base = model.logProb(encode(context));
      for (let b = 0; b < 256; b++) total += Math.exp(model.logProb(Uint8Array.from([...encode(context), b])) - base);
      expect(total).toBeCloseTo(1, 9);
    }
  });

  it('finds seen text likelier than shuffled text', () => {
    expect(model.perplexity(encode('the cat sat on the log.'))).toBeLessThan(model.perplexity(encode('tgo la.e hst ctno e ht')));
  });
});

const config = perplexityFilterStage.configSchema.parse({ reference: 'brown', maxReferenceBytes: 1 << 20, keepToPercentile: 90 }, 'config');
const reference = await trainReferenceModel(config);
const stage = await perplexityFilterStage.create(config);

describe('perplexity band filter (CCNet-style)', () => {

  it('keeps a document just below the cut-off and drops one just above it', async () => {
    const high = percentile(reference.calibration, 90);
    // Real prose with a growing tail of noise: perplexity rises with the tail; take the pair around the cut-off.
    const prose = (await readSotu())[3].text.slice(0, 3000);
    const noise = Array.from({ length: 3000 }, (_, i) => String.fromCharCode(33 + ((i * 7919) % 90))).join('');
    const candidates = Array.from({ length: 600 }, (_, k) => prose + noise.slice(0, k * 5)).map((t) => ({ t, ppl: reference.model.perplexity(encode(t)) }));
    const below = candidates.filter((p) => p.ppl <= high).sort((a, b) => b.ppl - a.ppl)[0];
    const above = candidates.filter((p) => p.ppl > high).sort((a, b) => a.ppl - b.ppl)[0];
    expect(above.ppl / below.ppl).toBeLessThan(1.02);
    expect(below && above, 'prefixes on both sides of the cut-off').toBeTruthy();
    expect(await stage.process({ id: 'in', source: 's', text: below.t })).toEqual({ keep: true });
    expect(await stage.process({ id: 'out', source: 's', text: above.t })).toEqual({ keep: false, reason: 'perplexity_above_band' });
  });

  it('drops gibberish and keeps about the band of the reference held-out documents', async () => {
    const { calibration } = reference;
    const kept = calibration.filter((p) => p <= percentile(calibration, 90)).length / calibration.length;
    expect(kept).toBeGreaterThan(0.85);
    expect(kept).toBeLessThanOrEqual(0.92);
    const gibberish = Array.from({ length: 300 }, (_, i) => String.fromCharCode(33 + ((i * 7919) % 90))).join('');
    expect(await stage.process({ id: 'g', source: 's', text: gibberish })).toEqual({ keep: false, reason: 'perplexity_above_band' });
  });

  it('percentile interpolates between order statistics', () => {
    expect(percentile([1, 2, 3, 5], 50)).toBe(2.5);
    expect(percentile([1, 2, 3, 5], 0)).toBe(0);
    expect(percentile([1, 2, 3, 5], 100)).toBe(Infinity);
  });
});
