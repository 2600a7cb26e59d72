import { describe, expect, it } from 'vitest';
import { sampleToken } from '../src/generate/sampling.ts';
import { Rng } from '../src/rng.ts';

const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];

function frequencies(options: { temperature: number; topK: number; topP: number }, n = 20000): number[] {
  const rng = new Rng(3);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) counts[sampleToken(logits, options, rng)]++;
  return counts.map((c) => c / n);
}

describe('sampling', () => {
  it('temperature 1 without truncation samples the softmax', () => {
    const f = frequencies({ temperature: 1, topK: 0, topP: 1 });
    [0.5, 0.3, 0.15, 0.05].forEach((p, i) => expect(Math.abs(f[i] - p)).toBeLessThan(0.015));
  });

  it('temperature 0 is greedy', () => {
    expect(frequencies({ temperature: 0, topK: 0, topP: 1 }, 100)).toEqual([1, 0, 0, 0]);
  });

  it('top-k keeps the k most likely tokens, renormalised', () => {
    const f = frequencies({ temperature: 1, topK: 2, topP: 1 });
    expect(f[2] + f[3]).toBe(0);
    expect(Math.abs(f[0] - 0.625)).toBeLessThan(0.015);
  });

  it('top-p keeps the smallest prefix whose mass reaches p', () => {
    const f = frequencies({ temperature: 1, topK: 0, topP: 0.8 });
    expect(f[2] + f[3]).toBe(0);
    expect(Math.abs(f[1] - 0.375)).toBeLessThan(0.015);
  });

  it('banned tokens are never drawn', () => {
    const rng = new Rng(1);
    for (let i = 0; i < 200; i++) expect(sampleToken(logits, { temperature: 1, topK: 0, topP: 1 }, rng, new Set([0]))).not.toBe(0);
  });
});
