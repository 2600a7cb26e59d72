/**
 * bench-bf16's comparison of two training runs that differ only in matmul precision (bench/bf16-loss.ts): the
 * train-loss curves side by side, the held-out losses and the speeds, as a Markdown table and an SVG. Pure functions,
 * unit-tested in bf16-report.test.ts; the training lives in bf16-loss.ts.
 */
import { lineChart } from '@unilab/eval';
import { stackSvgs } from './scale-report.ts';

/** One run: a model size trained in one precision. */
export interface PrecisionRun {
  precision: 'f32' | 'bf16-matmul';
  /** Train loss of every step, in order. */
  losses: number[];
  /** Held-out loss at [step, loss] points (the last at the final step). */
  heldOut: [number, number][];
  tokensPerSecond: number;
}

export interface SizeComparison {
  /** The grid's label, e.g. "5M". */
  label: string;
  parameters: number;
  f32: PrecisionRun;
  bf16: PrecisionRun;
}

export interface CurveDifference {
  steps: number;
  /** max and mean over steps of |bf16 - f32| train loss (same batches, same initial weights). */
  maxAbs: number;
  meanAbs: number;
  /** Mean train loss over the last `tail` steps, each run. */
  tailF32: number;
  tailBf16: number;
  tail: number;
}

/** How far the bf16 curve is from the f32 one, step by step; `tail` steps for the final means. */
export function curveDifference(f32: readonly number[], bf16: readonly number[], tail = 20): CurveDifference {
  if (f32.length !== bf16.length || f32.length === 0) throw new RangeError(`curveDifference: runs of ${f32.length} and ${bf16.length} steps`);
  let maxAbs = 0;
  let sum = 0;
  for (let i = 0; i < f32.length; i++) {
    const d = Math.abs(bf16[i] - f32[i]);
    maxAbs = Math.max(maxAbs, d);
    sum += d;
  }
  const t = Math.min(tail, f32.length);
  const mean = (xs: readonly number[]) => xs.slice(-t).reduce((a, b) => a + b, 0) / t;
  return { steps: f32.length, maxAbs, meanAbs: sum / f32.length, tailF32: mean(f32), tailBf16: mean(bf16), tail: t };
}

const last = (r: PrecisionRun) => r.heldOut[r.heldOut.length - 1]?.[1] ?? NaN;

/** The Markdown table: one row per size. */
export function bf16Table(sizes: readonly SizeComparison[]): string {
  const rows = [
    '| model | steps | train loss f32 / bf16 (mean of last 20) | max / mean \\|Δ train loss\\| | held-out f32 / bf16 (Δ) | tokens/s f32 / bf16 (ratio) |',
    '|---|---|---|---|---|---|',
  ];
  for (const s of sizes) {
    const d = curveDifference(s.f32.losses, s.bf16.losses);
    const [h32, h16] = [last(s.f32), last(s.bf16)];
    rows.push(
      `| ${s.label} (${(s.parameters / 1e6).toFixed(1)}M) | ${d.steps} | ${d.tailF32.toFixed(4)} / ${d.tailBf16.toFixed(4)} | ${d.maxAbs.toFixed(4)} / ${d.meanAbs.toFixed(4)} | ` +
        `${h32.toFixed(4)} / ${h16.toFixed(4)} (${h16 - h32 >= 0 ? '+' : ''}${(h16 - h32).toFixed(4)}) | ` +
        `${Math.round(s.f32.tokensPerSecond)} / ${Math.round(s.bf16.tokensPerSecond)} (${(s.bf16.tokensPerSecond / s.f32.tokensPerSecond).toFixed(2)}×) |`,
    );
  }
  return rows.join('\n');
}

/** Train-loss curves (every step) and held-out points of both precisions, one chart per size, stacked. */
export function bf16Plot(sizes: readonly SizeComparison[], subtitle: string): string {
  return stackSvgs(
    sizes.map((s) =>
      lineChart({
        title: `${s.label} LLaMA decoder: loss by step, f32 vs bf16-matmul — ${subtitle}`,
        xLabel: 'step',
        yLabel: 'loss (nats/token)',
        series: [
          { name: 'train f32', points: s.f32.losses.map((l, i) => [i + 1, l] as const) },
          { name: 'train bf16-matmul', points: s.bf16.losses.map((l, i) => [i + 1, l] as const), dashed: true },
          { name: 'held-out f32', points: s.f32.heldOut },
          { name: 'held-out bf16-matmul', points: s.bf16.heldOut, dashed: true },
        ],
      }),
    ),
  );
}
