import { describe, expect, it } from 'vitest';
import { Rng } from '@unilab/core';
import { compareIndependent, comparePaired, proportion, signTestP, wilsonInterval } from '../src/index.ts';

describe('Wilson interval', () => {
  it('matches published values', () => {
    // Newcombe (1998), table I: 81/263 -> 0.2553 to 0.3662; 15/148 -> 0.0624 to 0.1605; 0/20 -> 0 to 0.1611.
    const close = (got: [number, number], want: [number, number]) => {
      expect(got[0]).toBeCloseTo(want[0], 4);
      expect(got[1]).toBeCloseTo(want[1], 4);
    };
    close(wilsonInterval(81, 263), [0.2553, 0.3662]);
    close(wilsonInterval(15, 148), [0.0624, 0.1605]);
    close(wilsonInterval(0, 20), [0, 0.1611]);
    close(wilsonInterval(20, 20), [0.8389, 1]);
  });

  it('covers the true p about 95% of the time, also at small n (simulated)', () => {
    const rng = new Rng(5);
    for (const [p, n] of [[0.5, 20], [0.25, 40], [0.1, 200]] as const) {
      let covered = 0;
      const trials = 2000;
      for (let t = 0; t < trials; t++) {
        let k = 0;
        for (let i = 0; i < n; i++) if (rng.uniform() < p) k++;
        const [lo, hi] = wilsonInterval(k, n);
        if (lo <= p && p <= hi) covered++;
      }
      expect(covered / trials).toBeGreaterThan(0.92);
      expect(covered / trials).toBeLessThan(0.99);
    }
  });

  it('refuses impossible counts, naming them', () => {
    expect(() => wilsonInterval(5, 4)).toThrow(/successes must be an integer in \[0, 4\], got 5/);
    expect(() => wilsonInterval(1, -1)).toThrow(/n must be a non-negative integer/);
    expect(proportion(0, 0)).toEqual({ successes: 0, n: 0, value: 0, ci95: [0, 1] });
  });
});

describe('do two results differ', () => {
  it('independent proportions: Newcombe method 10 reproduces the paper (56/70 vs 48/80: 0.0524 to 0.3339)', () => {
    const c = compareIndependent(proportion(56, 70), proportion(48, 80));
    expect(c.difference).toBeCloseTo(0.2, 12);
    expect(c.ci95![0]).toBeCloseTo(0.0524, 4);
    expect(c.ci95![1]).toBeCloseTo(0.3339, 4);
    expect(c.differ).toBe(true);
    expect(compareIndependent(proportion(10, 20), proportion(12, 20)).differ).toBe(false);
  });

  it('paired outcomes: exact McNemar on the discordant items', () => {
    expect(signTestP(2, 12)).toBeCloseTo((2 * (1 + 12 + 66)) / 4096, 12);
    expect(signTestP(6, 12)).toBe(1);
    // 100 items; both right on 60, both wrong on 20, only a right on 15, only b right on 5.
    const a = [...Array(60).fill(true), ...Array(20).fill(false), ...Array(15).fill(true), ...Array(5).fill(false)];
    const b = [...Array(60).fill(true), ...Array(20).fill(false), ...Array(15).fill(false), ...Array(5).fill(true)];
    const c = comparePaired(a, b);
    expect(c.difference).toBeCloseTo(0.1, 12);
    expect(c.pValue).toBeCloseTo(signTestP(5, 20), 12);
    expect(c.pValue!).toBeCloseTo(0.04139, 4);
    expect(c.differ).toBe(true);
    // The same two accuracies from different items are not told apart: pairing is what finds the difference.
    expect(compareIndependent(proportion(75, 100), proportion(65, 100)).differ).toBe(false);
    expect(() => comparePaired([true], [true, false])).toThrow(/same items, got 1 and 2/);
  });
});
