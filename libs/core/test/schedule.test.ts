import { describe, expect, it } from 'vitest';
import { learningRate, type ScheduleConfig } from '../src/optim/schedule.ts';

const base: ScheduleConfig = { kind: 'cosine', maxLr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 110, decayFraction: 0.2 };

describe('learning-rate schedules', () => {
  it('warmup rises linearly to the peak', () => {
    expect(learningRate(0, base)).toBeCloseTo(1e-4, 12);
    expect(learningRate(9, base)).toBeCloseTo(1e-3, 12);
  });

  it('cosine decays to minLr, passing the midpoint halfway', () => {
    expect(learningRate(10, base)).toBeCloseTo(1e-3, 12);
    expect(learningRate(60, base)).toBeCloseTo(5.5e-4, 12);
    expect(learningRate(110, base)).toBeCloseTo(1e-4, 12);
  });

  it('warmup-stable-decay holds the peak, then decays linearly over the last fraction', () => {
    const wsd = { ...base, kind: 'wsd' as const };
    expect(learningRate(50, wsd)).toBe(1e-3);
    expect(learningRate(88, wsd)).toBe(1e-3);
    expect(learningRate(99, wsd)).toBeCloseTo(5.5e-4, 12);
    expect(learningRate(110, wsd)).toBeCloseTo(1e-4, 12);
  });
});
