import { describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.ts';

describe('Rng', () => {
  it('restored from its state continues the same sequence', () => {
    const a = new Rng(99);
    for (let i = 0; i < 10; i++) a.nextU32();
    const b = new Rng(a.state());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(Array.from({ length: 5 }, () => a.nextU32()));
  });

  it('is uniform enough: mean 0.5, Poisson mean lambda', () => {
    const r = new Rng(5);
    let s = 0;
    let p = 0;
    for (let i = 0; i < 50000; i++) {
      s += r.uniform();
      p += r.poisson(3);
    }
    expect(Math.abs(s / 50000 - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(p / 50000 - 3)).toBeLessThan(0.05);
  });
});
