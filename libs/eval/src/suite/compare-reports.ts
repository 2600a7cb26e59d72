import type { Estimate } from '../stats/bootstrap.ts';
import { comparePaired, type Comparison } from '../stats/compare.ts';
import type { EvalReport } from './eval-report.ts';

/**
 * Which figures of two models' reports (same suite) differ, for the paradigm study:
 * - few-shot accuracies: both models answered the same items (same suite, same seed), so each (task, k) is compared
 *   item by item with the exact McNemar test (comparePaired); they differ when p < 0.05;
 * - bits per byte and mode-wise NLL: the reports keep intervals, not per-document figures, so two figures differ when
 *   their 95% intervals do not overlap. That is conservative (for equal widths, about a 0.6% test): "differ" is
 *   reliable, "no difference" only means this suite could not tell.
 */
export interface FigureComparison {
  figure: string;
  a: number;
  b: number;
  differ: boolean;
  method: 'mcnemar-exact' | 'interval-overlap';
  /** McNemar's two-sided p (few-shot only). */
  pValue?: number;
}

export function compareReports(a: EvalReport, b: EvalReport): FigureComparison[] {
  if (a.suite !== b.suite) throw new Error(`compareReports: the reports ran different suites (${a.suite} and ${b.suite}); their items differ`);
  const out: FigureComparison[] = [];
  const domainsB = new Map(b.likelihood?.bitsPerByte.domains.map((d) => [d.domain, d]) ?? []);
  for (const d of a.likelihood?.bitsPerByte.domains ?? []) {
    const other = domainsB.get(d.domain);
    if (other) out.push(byOverlap(`bits per byte ${d.domain}`, d.bitsPerByte, other.bitsPerByte));
  }
  const modesB = new Map(b.likelihood?.modes.results.map((m) => [m.mode, m]) ?? []);
  for (const m of a.likelihood?.modes.results ?? []) {
    const other = modesB.get(m.mode);
    if (other) out.push(byOverlap(`${m.mode} NLL nats/token`, m.natsPerToken, other.natsPerToken));
  }
  const fewShotB = new Map(b.fewShot?.results.map((r) => [`${r.task}/${r.shots}`, r]) ?? []);
  for (const r of a.fewShot?.results ?? []) {
    const other = fewShotB.get(`${r.task}/${r.shots}`);
    if (!other) continue;
    for (const [metric, mine, theirs] of [['acc', r.correct, other.correct], ['acc_norm', r.correctNorm, other.correctNorm]] as const) {
      const c: Comparison = comparePaired(mine.map(Boolean), theirs.map(Boolean));
      out.push({ figure: `${r.task} k=${r.shots} ${metric}`, a: mean(mine), b: mean(theirs), differ: c.differ, method: 'mcnemar-exact', pValue: c.pValue });
    }
  }
  return out;
}

function byOverlap(figure: string, a: Estimate, b: Estimate): FigureComparison {
  // An interval that could not be measured (one document) tells nothing: no difference is claimed.
  const known = [a.low, a.high, b.low, b.high].every(Number.isFinite);
  return { figure, a: a.value, b: b.value, differ: known && (a.high < b.low || b.high < a.low), method: 'interval-overlap' };
}

const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
