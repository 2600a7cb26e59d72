import { describe, expect, it } from 'vitest';
import { scaleGrid, TOKENS_PER_STEP, type ScalePoint } from './scale-grid.ts';
import { attentionMemoryVerdict, goalFor, linearFit, replaceMarked, scalePlot, scaleTable, speedRatio, stackSvgs, type ScaleResult, type ScaleSide } from './scale-report.ts';

const side = (tokensPerSecond: number, peakRssBytes: number, wasmBytes?: number): ScaleSide => ({
  tokensPerSecond,
  stepSeconds: [TOKENS_PER_STEP / tokensPerSecond],
  peakRssBytes,
  wasmBytes,
  losses: [9, 8.9],
  parameters: 1,
});

/** A made-up run over the full grid: unilab flat memory, PyTorch growing with T. */
function fakeRun(): ScaleResult[] {
  return scaleGrid().map((point: ScalePoint, i) => ({
    point,
    pytorch: side(1000 + i, 700e6 + point.seqLen * 300e3),
    unilab: side(point.seqLen >= 1024 ? 1200 : 1100 + i, 550e6 + point.seqLen * 4e3, 420e6),
  }));
}

describe('bench-scale report', () => {
  it('fits a line exactly through points on a line', () => {
    const f = linearFit([1, 2, 3, 4], [5, 7, 9, 11]);
    expect(f.slope).toBeCloseTo(2, 12);
    expect(f.intercept).toBeCloseTo(3, 12);
    expect(f.r2).toBeCloseTo(1, 12);
    expect(() => linearFit([1], [1])).toThrow(/two or more/);
    expect(() => linearFit([2, 2], [1, 3])).toThrow(/distinct x/);
  });

  it('calls memory flat across T linear, and memory growing by a score matrix per layer per T not', () => {
    const shape = { layers: 4, heads: 3 };
    const T = [128, 256, 512, 1024, 2048];
    const perMatrix = 4 * 3 * TOKENS_PER_STEP * 4;
    const flat = attentionMemoryVerdict(T, T.map((t) => 500e6 + 5000 * t), shape);
    expect(flat.linear).toBe(true);
    expect(flat.scoreMatrixBytesPerPosition).toBe(perMatrix);
    // Eager attention keeps scores and probabilities: two matrices per layer.
    const eager = attentionMemoryVerdict(T, T.map((t) => 700e6 + 2 * perMatrix * t), shape);
    expect(eager.linear).toBe(false);
    expect(eager.slopeBytesPerPosition).toBeCloseTo(2 * perMatrix, 3);
  });

  it('gives a ratio only when both sides ran and the reference passed its check, against the issue goal', () => {
    const [r] = fakeRun();
    expect(speedRatio(r, true)).toBeCloseTo(1100 / 1000, 12);
    expect(speedRatio(r, false)).toBeUndefined();
    expect(speedRatio({ point: r.point, unilab: r.unilab }, true)).toBeUndefined();
    expect(goalFor({ ...r.point, seqLen: 2048 })).toBe(1.3);
    expect(goalFor({ ...r.point, seqLen: 512 })).toBe(1.0);
  });

  it('writes one table row per point, refusing the ratio when the reference is bad, marking a missed goal', () => {
    const run = fakeRun();
    const ok = scaleTable(run, true).split('\n');
    expect(ok).toHaveLength(2 + run.length);
    expect(ok[2]).toContain('| 1.10× |');
    // The 2,048 point: 1200 / (1000 + i) is under the 1.3× goal.
    expect(ok.find((l) => l.includes('2048 × 1'))).toMatch(/\(below\)/);
    const refused = scaleTable(run, false);
    expect(refused).not.toMatch(/\d×\s*(\(below\))?\s*\|\s*1\.[03]×/);
    expect(refused.split('\n').slice(2).every((l) => l.includes('| refused |'))).toBe(true);
    const crashed = scaleTable([{ point: run[0].point, unilab: run[0].unilab, pytorchError: 'killed by SIGKILL' }], true);
    expect(crashed).toContain('| failed |');
  });

  it('draws three stacked charts with both sides as series, and escapes nothing into broken XML', () => {
    const svg = scalePlot(fakeRun(), '2026-12-03 <test> & co');
    expect(svg.match(/<svg /g)).toHaveLength(4);
    expect(svg.match(/<\/svg>/g)).toHaveLength(4);
    for (const name of ['PyTorch 1.13 eager', 'unilab WASM', 'PyTorch peak RSS', 'unilab WASM memory']) expect(svg).toContain(name);
    expect(svg).toContain('&lt;test&gt; &amp; co');
    expect(svg).not.toContain('<test>');
    const stacked = stackSvgs(['<svg xmlns="x" width="10" height="20"></svg>', '<svg xmlns="x" width="30" height="5"></svg>']);
    expect(stacked).toMatch(/viewBox="0 0 30 25"/);
    expect(stacked).toContain('<svg x="0" y="20" xmlns="x"');
  });

  it('replaces the marked section of a document, or appends it once', () => {
    const doc = '# P\n\ntext\n';
    const once = replaceMarked(doc, 'bench-scale', 'table 1');
    expect(once).toBe('# P\n\ntext\n\n<!-- begin bench-scale -->\ntable 1\n<!-- end bench-scale -->\n');
    const twice = replaceMarked(once, 'bench-scale', 'table 2');
    expect(twice).toBe(once.replace('table 1', 'table 2'));
  });
});
