import { describe, expect, it } from 'vitest';
import { downsampleMetrics, type MetricRow } from '../src/metric-downsampling.ts';

const step = (globalStep: number, loss: number | null): MetricRow => ({ stage: 0, step: globalStep, globalStep, loss, lr: 1e-3, gradNorm: 1, tokens: 64, heldOutLoss: null, at: null });
const evaluation = (globalStep: number, heldOutLoss: number): MetricRow => ({ stage: 0, step: globalStep, globalStep, loss: null, lr: null, gradNorm: null, tokens: null, heldOutLoss, at: null });

describe('downsampleMetrics', () => {
  it('keeps a resumed job\'s re-run of a step, not the original, and keeps its evaluations beside its steps', () => {
    // Steps 1-10 ran, the job was resumed from step 6's checkpoint and ran 7-12 again (rows come in insertion order).
    const rows = [...Array.from({ length: 10 }, (_, i) => step(i + 1, 5)), evaluation(10, 4.9), ...Array.from({ length: 6 }, (_, i) => step(i + 7, 3)), evaluation(10, 2.9)];
    const out = downsampleMetrics(rows, 100);
    expect(out.filter((r) => r.heldOutLoss === null).map((r) => [r.globalStep, r.loss])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((s) => [s, s <= 6 ? 5 : 3]));
    expect(out.filter((r) => r.heldOutLoss !== null)).toEqual([evaluation(10, 2.9)]);
  });

  it('keeps each run\'s lowest and highest loss (a dip and a spike survive), the first and last step, and no more than it was asked', () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => step(i + 1, i === 4321 ? 0.1 : i === 8765 ? 50 : 4 - i / 10_000));
    const out = downsampleMetrics(rows, 100);
    expect(out.length).toBeLessThanOrEqual(102);
    expect(out.map((r) => r.globalStep)).toEqual([...out.map((r) => r.globalStep as number)].sort((a, b) => a - b));
    expect(out.find((r) => r.loss === 0.1)?.globalStep).toBe(4322);
    expect(out.find((r) => r.loss === 50)?.globalStep).toBe(8766);
    expect(out[0].globalStep).toBe(1);
    expect(out.at(-1)!.globalStep).toBe(10_000);
  });

  it('passes a short curve through whole, and a step without a finite loss (stored as null) never wins a run', () => {
    const short = [step(1, 3), step(2, null), step(3, 2)];
    expect(downsampleMetrics(short, 10)).toEqual(short);
    const long = Array.from({ length: 100 }, (_, i) => step(i + 1, i % 10 === 5 ? null : 1 + (i % 10)));
    const kept = downsampleMetrics(long, 20).filter((r) => r.globalStep !== 1 && r.globalStep !== 100);
    expect(kept.every((r) => r.loss !== null)).toBe(true);
  });
});
