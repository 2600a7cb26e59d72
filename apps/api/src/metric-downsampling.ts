/** A metrics row as the store gives it: a training step (`loss` set) or a held-out evaluation (`heldOutLoss` set). */
export type MetricRow = Record<string, number | string | null>;

/**
 * A job's curve in about `points` rows, for a chart a few thousand pixels wide at most: 100,000 steps drawn whole
 * would send megabytes to draw the same pixels.
 *
 * Steps a resumed job ran again (the rows come in step order, re-runs after the originals) keep only the re-run, as
 * the chart shows them. Then the training steps are cut into `points / 2` runs of consecutive steps and each run
 * keeps its lowest- and highest-loss step, in step order (min/max decimation): a loss spike or a dip survives at
 * any zoom, where keeping every k-th step would drop it. The first and last steps are always kept, and evaluations
 * (one every `evalEvery` steps, far fewer) all are unless they alone exceed `points`, when every k-th is kept.
 */
export function downsampleMetrics(rows: readonly MetricRow[], points: number): MetricRow[] {
  const latest = new Map<string, MetricRow>();
  for (const row of rows) latest.set(`${isEval(row) ? 'eval' : 'step'}:${row.globalStep}`, row);
  const steps: MetricRow[] = [];
  const evals: MetricRow[] = [];
  for (const row of latest.values()) (isEval(row) ? evals : steps).push(row);
  const byStep = (a: MetricRow, b: MetricRow) => (a.globalStep as number) - (b.globalStep as number);
  steps.sort(byStep);
  evals.sort(byStep);
  return [...minMaxDecimate(steps, points), ...everyKth(evals, points)].sort(byStep);
}

const isEval = (row: MetricRow) => row.heldOutLoss !== null;

/** A step whose loss was not finite is stored without one: it counts as neither the lowest nor the highest. */
function minMaxDecimate(steps: MetricRow[], points: number): MetricRow[] {
  if (steps.length <= points) return steps;
  const runs = Math.max(1, Math.floor(points / 2));
  const runLength = Math.ceil(steps.length / runs);
  const kept = new Set<number>([0, steps.length - 1]);
  for (let start = 0; start < steps.length; start += runLength) {
    let lo = start;
    let hi = start;
    for (let i = start + 1; i < Math.min(start + runLength, steps.length); i++) {
      const loss = steps[i].loss as number | null;
      if (loss === null) continue;
      if (steps[lo].loss === null || loss < (steps[lo].loss as number)) lo = i;
      if (steps[hi].loss === null || loss > (steps[hi].loss as number)) hi = i;
    }
    kept.add(lo).add(hi);
  }
  return [...kept].sort((a, b) => a - b).map((i) => steps[i]);
}

function everyKth(rows: MetricRow[], points: number): MetricRow[] {
  if (rows.length <= points) return rows;
  const k = Math.ceil(rows.length / points);
  return rows.filter((_, i) => i % k === 0 || i === rows.length - 1);
}
