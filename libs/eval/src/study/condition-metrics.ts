import { comparePaired } from '../stats/compare.ts';
import { proportion } from '../stats/proportion.ts';
import type { EvalReport } from '../suite/eval-report.ts';
import { seedMean, welchInterval } from './seed-statistics.ts';
import type { Condition } from './sweep-results.ts';

/**
 * The report's metrics, each read from a cell's evaluation report: bits per byte (the mean over held-out domains;
 * the language-modelling figure, lower is better), UL2's mode-wise NLL (lower is better) and few-shot accuracy
 * pooled over every task and shot count (higher is better).
 */
export interface MetricDef {
  key: string;
  label: string;
  better: 'lower' | 'higher';
  /** The word for a side significantly ahead (default "better"; an analysis figure says "higher"). */
  ahead?: string;
}

export const BITS_PER_BYTE: MetricDef = { key: 'bpb', label: 'bits per byte (mean of domains)', better: 'lower' };
export const FEW_SHOT: MetricDef = { key: 'fewshot', label: 'few-shot accuracy (pooled)', better: 'higher' };

/** bits per byte, one NLL per mode found in the reports, few-shot accuracy. */
export function reportMetrics(conditions: readonly Condition[]): MetricDef[] {
  const modes = new Set<string>();
  for (const c of conditions) for (const cell of c.cells) for (const m of cell.evaluation?.likelihood?.modes.results ?? []) modes.add(m.mode);
  return [BITS_PER_BYTE, ...[...modes].map((m): MetricDef => ({ key: `nll.${m}`, label: `${m} NLL (nats/token)`, better: 'lower' })), FEW_SHOT];
}

/** One cell's figure with its own 95% interval (bootstrap over documents, Wilson for accuracy) and, for accuracy,
 * the per-item outcomes a paired test needs. */
export interface CellFigure {
  value: number;
  low: number;
  high: number;
  items?: { keys: string; correct: boolean[] };
}

export function cellFigure(report: EvalReport | null, metric: MetricDef): CellFigure | null {
  if (!report) return null;
  if (metric.key === 'bpb') {
    const domains = report.likelihood?.bitsPerByte.domains ?? [];
    if (domains.length === 0) return null;
    const k = domains.length;
    const value = domains.reduce((s, d) => s + d.bitsPerByte.value, 0) / k;
    // Domains are independent samples: the half-widths of their mean add in quadrature.
    const below = Math.sqrt(domains.reduce((s, d) => s + (d.bitsPerByte.value - d.bitsPerByte.low) ** 2, 0)) / k;
    const above = Math.sqrt(domains.reduce((s, d) => s + (d.bitsPerByte.high - d.bitsPerByte.value) ** 2, 0)) / k;
    return { value, low: value - below, high: value + above };
  }
  if (metric.key.startsWith('nll.')) {
    const m = report.likelihood?.modes.results.find((r) => `nll.${r.mode}` === metric.key);
    return m ? { value: m.natsPerToken.value, low: m.natsPerToken.low, high: m.natsPerToken.high } : null;
  }
  const results = report.fewShot?.results ?? [];
  if (results.length === 0) return null;
  const correct = results.flatMap((r) => r.correct.map((x) => x === 1));
  const p = proportion(correct.filter(Boolean).length, correct.length);
  return { value: p.value, low: p.ci95[0], high: p.ci95[1], items: { keys: results.map((r) => `${r.task}/${r.shots}/${r.n}`).join(','), correct } };
}

/** A condition's figure: the mean over seeds with its t interval (two or more seeds), else the one cell's. */
export interface ConditionFigure {
  value: number;
  low: number;
  high: number;
  seeds: number;
  /** Where the interval comes from. */
  basis: 'seeds' | 'within-cell';
  perSeed: number[];
  items?: CellFigure['items'];
  variance: number;
}

export function conditionFigure(condition: Condition, metric: MetricDef): ConditionFigure | null {
  const figures = condition.cells.map((c) => cellFigure(c.evaluation, metric)).filter((f): f is CellFigure => f !== null);
  if (figures.length === 0) return null;
  if (figures.length === 1) {
    const [f] = figures;
    return { value: f.value, low: f.low, high: f.high, seeds: 1, basis: 'within-cell', perSeed: [f.value], items: f.items, variance: NaN };
  }
  const m = seedMean(figures.map((f) => f.value));
  return { value: m.mean, low: m.low, high: m.high, seeds: m.seeds, basis: 'seeds', perSeed: figures.map((f) => f.value), variance: m.variance };
}

/** The outcome of comparing a with b on one metric, with the test that decided it, in words for the report. */
export interface MetricComparison {
  outcome: 'a-better' | 'b-better' | 'no-difference';
  /** a − b in the metric's unit. */
  difference: number;
  method: string;
}

/**
 * Do a and b differ? Two or more seeds on both sides: Welch's 95% interval of the difference of seed means. One
 * seed: the exact McNemar test on the same few-shot items (p < 0.05), else whether the two 95% intervals overlap
 * (overlap = no significant difference; the conservative reading).
 */
export function compareFigures(a: ConditionFigure, b: ConditionFigure, metric: MetricDef): MetricComparison {
  const difference = a.value - b.value;
  const direction = (significant: boolean): MetricComparison['outcome'] =>
    !significant || difference === 0 ? 'no-difference' : (difference < 0) === (metric.better === 'lower') ? 'a-better' : 'b-better';
  if (a.seeds >= 2 && b.seeds >= 2) {
    const w = welchInterval(
      { mean: a.value, low: a.low, high: a.high, seeds: a.seeds, variance: a.variance },
      { mean: b.value, low: b.low, high: b.high, seeds: b.seeds, variance: b.variance },
    );
    const significant = w.low > 0 || w.high < 0;
    return { outcome: direction(significant), difference, method: `Welch 95% CI of the difference over seeds [${fmt(w.low)}, ${fmt(w.high)}] (${a.seeds} vs ${b.seeds} seeds)` };
  }
  if (a.items && b.items && a.items.keys === b.items.keys) {
    const c = comparePaired(a.items.correct, b.items.correct);
    return { outcome: direction(c.differ), difference, method: `exact McNemar test on the same ${c.n} items, p = ${fmt(c.pValue!)}` };
  }
  if ([a.low, a.high, b.low, b.high].some(Number.isNaN)) return { outcome: 'no-difference', difference, method: 'no interval on one side (too few units), so no test' };
  const overlap = a.low <= b.high && b.low <= a.high;
  return { outcome: direction(!overlap), difference, method: `95% intervals [${fmt(a.low)}, ${fmt(a.high)}] and [${fmt(b.low)}, ${fmt(b.high)}] ${overlap ? 'overlap' : 'do not overlap'}` };
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? x.toExponential(2) : x.toFixed(a < 1 ? 4 : 3);
}
