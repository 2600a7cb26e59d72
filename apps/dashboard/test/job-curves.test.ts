import { describe, expect, it } from 'vitest';
import { JobCurves } from '../src/job-curves.ts';

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)).toISOString();

describe('JobCurves', () => {
  it('puts a held-out evaluation on the step it measured, and computes tokens per second from step times', () => {
    const c = new JobCurves();
    c.add({ globalStep: 1, loss: 5, lr: 1e-3, gradNorm: 2, tokens: 100, at: at(0) });
    c.add({ globalStep: 2, loss: 4, lr: 1e-3, gradNorm: 2, tokens: 100, at: at(2) });
    c.add({ globalStep: 2, heldOutLoss: 4.5 });
    c.add({ globalStep: 4, loss: 3, lr: 1e-3, gradNorm: 2, tokens: 100, at: at(3) }); // a downsampled gap: two steps in one second
    c.add({ globalStep: 5, loss: 3, lr: 1e-3, gradNorm: 2, tokens: 100, at: at(3) }); // within a second: carries the last rate
    expect(c.x).toEqual([1, 2, 4, 5]);
    expect(c.columns.loss).toEqual([5, 4, 3, 3]);
    expect(c.columns.heldOutLoss).toEqual([null, 4.5, null, null]);
    expect(c.columns.tokensPerSecond).toEqual([null, 50, 200, 200]);
    expect(c.latest('heldOutLoss')).toBe(4.5);
  });

  it('a step at or before the last one (a resume from an earlier checkpoint) replaces the steps after it', () => {
    const c = new JobCurves();
    for (let s = 1; s <= 10; s++) c.add({ globalStep: s, loss: 10 - s, tokens: 1, at: at(s) });
    c.add({ globalStep: 10, heldOutLoss: 1 });
    c.add({ globalStep: 7, loss: 0.5, tokens: 1, at: at(100) });
    expect(c.x).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(c.columns.loss.at(-1)).toBe(0.5);
    expect(c.columns.heldOutLoss.every((v) => v === null)).toBe(true);
    // No throughput across the rewind (its previous time is a later step's).
    expect(c.columns.tokensPerSecond.at(-1)).toBeNull();
    // An evaluation at a step with no point of its own (its step row fell to downsampling) makes one.
    c.add({ globalStep: 9, heldOutLoss: 2 });
    expect(c.x).toEqual([1, 2, 3, 4, 5, 6, 7, 9]);
    expect(c.columns.loss.at(-1)).toBeNull();
  });
});
