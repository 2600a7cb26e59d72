import { describe, expect, it } from 'vitest';
import { bf16Plot, bf16Table, curveDifference, type SizeComparison } from './bf16-report.ts';

const run = (precision: 'f32' | 'bf16-matmul', losses: number[], heldOut: [number, number][], tokensPerSecond: number) => ({ precision, losses, heldOut, tokensPerSecond });

describe('bench-bf16 report', () => {
  it('measures the curves step by step: max and mean |Δ| and the means of the last steps', () => {
    const d = curveDifference([9, 8, 7, 6], [9, 8.5, 6.9, 6.1], 2);
    expect(d.steps).toBe(4);
    expect(d.maxAbs).toBeCloseTo(0.5, 12);
    expect(d.meanAbs).toBeCloseTo((0 + 0.5 + 0.1 + 0.1) / 4, 12);
    expect(d.tailF32).toBeCloseTo(6.5, 12);
    expect(d.tailBf16).toBeCloseTo(6.5, 12);
    expect(() => curveDifference([1, 2], [1])).toThrow(/2 and 1 steps/);
    expect(() => curveDifference([], [])).toThrow(RangeError);
  });

  it('writes one table row per size with the held-out difference and the speed ratio, and one chart per size', () => {
    const sizes: SizeComparison[] = [
      { label: '1M', parameters: 1.2e6, f32: run('f32', [9, 8], [[2, 7.5]], 1000), bf16: run('bf16-matmul', [9, 8.01], [[2, 7.52]], 950) },
      { label: '5M', parameters: 4.9e6, f32: run('f32', [9, 7], [[2, 6.9]], 400), bf16: run('bf16-matmul', [9, 7], [[2, 6.8]], 420) },
    ];
    const table = bf16Table(sizes).split('\n');
    expect(table).toHaveLength(4);
    expect(table[2]).toContain('| 1M (1.2M) | 2 | 8.5000 / 8.5050 | 0.0100 / 0.0050 | 7.5000 / 7.5200 (+0.0200) | 1000 / 950 (0.95×) |');
    expect(table[3]).toContain('6.9000 / 6.8000 (-0.1000)');
    const svg = bf16Plot(sizes, 'test');
    expect(svg.match(/<svg /g)).toHaveLength(3); // the stack and two charts
    expect(svg).toContain('1M LLaMA decoder');
    expect(svg).toContain('held-out bf16-matmul');
  });
});
