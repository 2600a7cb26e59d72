import { compareFigures, conditionFigure, type ConditionFigure, type MetricComparison, type MetricDef } from './condition-metrics.ts';
import type { Condition } from './sweep-results.ts';

/**
 * UL2's Tables 3-4 (Tay et al. 2022, §4): every configuration's metrics relative to a baseline, Table 3 against the
 * decoder trained by causal LM ("GPT-like"), Table 4 against the encoder-decoder trained by span corruption ("T5").
 * Relative change in %, signed so that positive is better whichever way the metric points: (baseline − x) / baseline
 * for lower-is-better metrics, (x − baseline) / baseline for higher-is-better ones.
 */
export interface RelativeCell {
  percent: number;
  /** Whether the difference from the baseline is significant (compareFigures). */
  comparison: MetricComparison;
}

export interface RelativeTable {
  baseline: string;
  /** Null when the baseline is not in the sweep. */
  rows: { condition: Condition; cells: (RelativeCell | null)[] }[] | null;
}

export function relativeChange(x: number, baseline: number, metric: MetricDef): number {
  return (100 * (metric.better === 'lower' ? baseline - x : x - baseline)) / Math.abs(baseline);
}

export function relativeTable(conditions: readonly Condition[], metrics: readonly MetricDef[], isBaseline: (c: Condition) => boolean, label: string): RelativeTable {
  const base = conditions.find(isBaseline);
  if (!base) return { baseline: label, rows: null };
  const baseFigures = metrics.map((m) => conditionFigure(base, m));
  return {
    baseline: label,
    rows: conditions.map((condition) => ({
      condition,
      cells: metrics.map((m, k) => {
        const x = conditionFigure(condition, m);
        const b = baseFigures[k];
        if (!x || !b || b.value === 0) return null;
        return { percent: relativeChange(x.value, b.value, m), comparison: compareFigures(x, b, m) };
      }),
    })),
  };
}

/** Each condition's figures, for the absolute table. */
export function absoluteRows(conditions: readonly Condition[], metrics: readonly MetricDef[]): { condition: Condition; figures: (ConditionFigure | null)[] }[] {
  return conditions.map((condition) => ({ condition, figures: metrics.map((m) => conditionFigure(condition, m)) }));
}
