/**
 * bench-scale's report (`npm run bench:scale`, bench/scale.ts): the fit that tells whether attention memory stays
 * linear in sequence length, the ratio against the goal, the Markdown table and the SVG plot for docs/PERFORMANCE.md.
 * Pure functions, unit-tested in scale-report.test.ts.
 */
import { lineChart } from '@unilab/eval';
import { TOKENS_PER_STEP, type ModelShape, type ScaleArchitecture, type ScalePoint } from './scale-grid.ts';

/** What one side measured at one point (the last JSON line of its child process). */
export interface ScaleSide {
  tokensPerSecond: number;
  /** Seconds per timed step. */
  stepSeconds: number[];
  /** The process's peak resident set (both sides). */
  peakRssBytes: number;
  /** unilab: the WebAssembly memory at the end (it never shrinks, so its peak). */
  wasmBytes?: number;
  losses: number[];
  parameters: number;
}

export interface ScaleResult {
  point: ScalePoint;
  unilab?: ScaleSide;
  pytorch?: ScaleSide;
  /** Why a side has no figure (a crash, a refused reference). */
  unilabError?: string;
  pytorchError?: string;
}

/** Ordinary least squares y = a + b·x: the intercept, the slope and R². */
export function linearFit(xs: readonly number[], ys: readonly number[]): { intercept: number; slope: number; r2: number } {
  if (xs.length !== ys.length || xs.length < 2) throw new RangeError(`linearFit needs two or more (x, y) pairs, got ${xs.length} and ${ys.length}`);
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  if (sxx === 0) throw new RangeError('linearFit needs at least two distinct x values');
  const slope = sxy / sxx;
  return { intercept: my - slope * mx, slope, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

/**
 * Attention memory is linear in T when, at a fixed number of tokens per step, the step's peak memory does not grow
 * with T by as much as half of one materialised score matrix per layer (layers × heads × tokens × 4 bytes per unit
 * of T). Eager attention keeps two or three such matrices per layer for the backward (scores, probabilities), so
 * it lands well above the bar; a fused kernel that keeps O(T) per row lands near zero.
 */
export function attentionMemoryVerdict(
  lengths: readonly number[],
  peakBytes: readonly number[],
  shape: Pick<ModelShape, 'layers' | 'heads'>,
  tokensPerStep = TOKENS_PER_STEP,
): { slopeBytesPerPosition: number; scoreMatrixBytesPerPosition: number; linear: boolean; r2: number } {
  const fit = linearFit(lengths, peakBytes);
  const scoreMatrixBytesPerPosition = shape.layers * shape.heads * tokensPerStep * 4;
  return { slopeBytesPerPosition: fit.slope, scoreMatrixBytesPerPosition, linear: fit.slope < 0.5 * scoreMatrixBytesPerPosition, r2: fit.r2 };
}

/** unilab's tokens/s over PyTorch's, when both ran and a ratio is allowed. */
export function speedRatio(r: ScaleResult, ratioAllowed: boolean): number | undefined {
  if (!ratioAllowed || !r.unilab || !r.pytorch) return undefined;
  return r.unilab.tokensPerSecond / r.pytorch.tokensPerSecond;
}

/** The goal of the issue at a point: ≥ 1.0× everywhere, ≥ 1.3× at long sequences (1,024 and up). */
export function goalFor(p: ScalePoint): number {
  return p.seqLen >= 1024 ? 1.3 : 1.0;
}

const mib = (b: number | undefined) => (b === undefined ? '' : (b / 2 ** 20).toFixed(0));
const millions = (n: number) => `${(n / 1e6).toFixed(2)}M`;
const archName = (a: ScaleArchitecture) => (a === 'decoder' ? 'decoder' : a === 'prefix-lm' ? 'prefix LM' : 'encoder-decoder');

/** The Markdown table of a run: one row per point, both sides, the ratio and the goal. */
export function scaleTable(results: readonly ScaleResult[], ratioAllowed: boolean): string {
  const rows = [
    '| model | architecture | parameters | seq × batch | PyTorch tokens/s | unilab tokens/s | unilab / PyTorch | goal | PyTorch peak RSS MiB | unilab peak RSS MiB | unilab WASM memory MiB |',
    '|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const p = r.point;
    const ratio = speedRatio(r, ratioAllowed);
    const goal = goalFor(p);
    const ratioCell = ratio === undefined ? (r.unilab && r.pytorch ? 'refused' : '') : `${ratio.toFixed(2)}×${ratio >= goal ? '' : ' (below)'}`;
    const tps = (s: ScaleSide | undefined, err: string | undefined) => (s ? s.tokensPerSecond.toFixed(0) : err ? 'failed' : '');
    const shape =
      p.architecture === 'encoder-decoder'
        ? `d ${p.shape.dModel}, ${p.shape.encoderLayers}+${p.shape.decoderLayers} layers, FFN ${p.shape.ffnHidden}`
        : `d ${p.shape.dModel}, ${p.shape.layers} layers, FFN ${p.shape.ffnHidden}`;
    rows.push(
      `| ${p.shape.label} (${shape}) | ${archName(p.architecture)} | ${millions(p.parameters)} | ${p.seqLen} × ${p.batchSize} | ${tps(r.pytorch, r.pytorchError)} | ${tps(r.unilab, r.unilabError)} | ${ratioCell} | ${goal.toFixed(1)}× | ${mib(r.pytorch?.peakRssBytes)} | ${mib(r.unilab?.peakRssBytes)} | ${mib(r.unilab?.wasmBytes)} |`,
    );
  }
  return rows.join('\n');
}

/** Replace the text between `<!-- begin NAME -->` and `<!-- end NAME -->` (markers kept); append the block if absent. */
export function replaceMarked(doc: string, name: string, body: string): string {
  const begin = `<!-- begin ${name} -->`;
  const end = `<!-- end ${name} -->`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i < 0 || j < 0 || j < i) return `${doc.trimEnd()}\n\n${begin}\n${body}\n${end}\n`;
  return `${doc.slice(0, i + begin.length)}\n${body}\n${doc.slice(j)}`;
}

/** The size series (decoder, BASE_SEQ_LEN) and the sequence series (5M decoder), in x order. */
function series(results: readonly ScaleResult[], name: 'size' | 'sequence') {
  return results.filter((r) => r.point.series.includes(name) && r.point.architecture === 'decoder').sort((a, b) => (name === 'size' ? a.point.parameters - b.point.parameters : a.point.seqLen - b.point.seqLen));
}

const line = (name: string, rs: ScaleResult[], x: (r: ScaleResult) => number, y: (r: ScaleResult) => number | undefined, dashed = false) => ({
  name,
  dashed,
  points: rs.flatMap((r) => {
    const v = y(r);
    return v === undefined ? [] : [[x(r), v] as const];
  }),
});

/**
 * One SVG with three charts stacked: tokens/s against parameters (decoders at BASE_SEQ_LEN), tokens/s against
 * sequence length (5M decoder, TOKENS_PER_STEP a step), peak memory against sequence length (both processes' peak
 * RSS and unilab's WebAssembly memory). Sequence length is plotted as log2(T).
 */
export function scalePlot(results: readonly ScaleResult[], subtitle: string): string {
  const sizes = series(results, 'size');
  const lengths = series(results, 'sequence');
  const log2T = (r: ScaleResult) => Math.log2(r.point.seqLen);
  const mb = (b: number | undefined) => (b === undefined ? undefined : b / 2 ** 20);
  const charts = [
    lineChart({
      title: `Training tokens/s by model size (seq 256, ${TOKENS_PER_STEP} tokens a step) — ${subtitle}`,
      xLabel: 'parameters (millions)',
      yLabel: 'tokens/s',
      logY: true,
      series: [
        line('PyTorch 1.13 eager', sizes, (r) => r.point.parameters / 1e6, (r) => r.pytorch?.tokensPerSecond, true),
        line('unilab WASM', sizes, (r) => r.point.parameters / 1e6, (r) => r.unilab?.tokensPerSecond),
      ],
    }),
    lineChart({
      title: `Training tokens/s by sequence length (5M decoder, ${TOKENS_PER_STEP} tokens a step)`,
      xLabel: 'log2(sequence length)',
      yLabel: 'tokens/s',
      logY: true,
      series: [
        line('PyTorch 1.13 eager', lengths, log2T, (r) => r.pytorch?.tokensPerSecond, true),
        line('unilab WASM', lengths, log2T, (r) => r.unilab?.tokensPerSecond),
      ],
    }),
    lineChart({
      title: `Peak memory by sequence length (5M decoder, ${TOKENS_PER_STEP} tokens a step)`,
      xLabel: 'log2(sequence length)',
      yLabel: 'MiB',
      series: [
        line('PyTorch peak RSS', lengths, log2T, (r) => mb(r.pytorch?.peakRssBytes), true),
        line('unilab peak RSS', lengths, log2T, (r) => mb(r.unilab?.peakRssBytes)),
        line('unilab WASM memory', lengths, log2T, (r) => mb(r.unilab?.wasmBytes)),
      ],
    }),
  ];
  return stackSvgs(charts);
}

/** Standalone SVGs one under the other, as one SVG (each keeps its own viewBox, placed by y). */
export function stackSvgs(svgs: readonly string[]): string {
  const size = (svg: string) => {
    const m = /<svg[^>]*\bwidth="(\d+(?:\.\d+)?)"[^>]*\bheight="(\d+(?:\.\d+)?)"/.exec(svg);
    if (!m) throw new Error('stackSvgs: an SVG without width and height');
    return [Number(m[1]), Number(m[2])];
  };
  let y = 0;
  let width = 0;
  const placed = svgs.map((svg) => {
    const [w, h] = size(svg);
    const out = svg.replace(/^<svg /, `<svg x="0" y="${y}" `);
    y += h;
    width = Math.max(width, w);
    return out;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${y}" width="${width}" height="${y}">\n${placed.join('\n')}\n</svg>\n`;
}
