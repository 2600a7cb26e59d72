/** One figure of an evaluation report with its confidence interval: where it sits in the report, value, bounds, n. */
export interface EvalFigure {
  label: string;
  value: number;
  low: number | null;
  high: number | null;
  n: number | null;
}

/** Containers whose name adds nothing to a figure's label (their elements are named by domain, mode or task). */
const QUIET = new Set(['results', 'domains', 'likelihood', 'fewShot']);

/**
 * Every figure with an interval in an evaluation report (`GET /v1/jobs/:id/eval`): bootstrap estimates
 * (`{ value, low, high, n }`) and proportions (`{ value, ci95: [low, high], n }`), wherever they sit. Reading the
 * report by the shape of its figures, not its layout, keeps this page right as the suite gains tasks. An element of
 * a list is named by its `domain`, `mode` or `task`.
 */
export function evalFigures(report: unknown): EvalFigure[] {
  const out: EvalFigure[] = [];
  const walk = (node: unknown, path: string[]) => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        const named = item && typeof item === 'object' ? ((item as Record<string, unknown>).domain ?? (item as Record<string, unknown>).mode ?? (item as Record<string, unknown>).task) : undefined;
        walk(item, [...path, typeof named === 'string' ? named : `#${i + 1}`]);
      });
      return;
    }
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    if (typeof o.value === 'number' && (('low' in o && 'high' in o) || Array.isArray(o.ci95))) {
      const [low, high] = Array.isArray(o.ci95) ? o.ci95 : [o.low, o.high];
      out.push({ label: path.join(' · '), value: o.value, low: num(low), high: num(high), n: num(o.n) });
      return;
    }
    for (const [key, value] of Object.entries(o)) walk(value, QUIET.has(key) ? path : [...path, key]);
  };
  walk(report, []);
  return out;
}

interface StoredEval {
  suite: string;
  status: string;
  finishedAt: string | null;
  report: unknown;
}

let evalRoute: Promise<boolean> | null = null;

/**
 * The figures of a job's newest completed evaluation; `null` when this server has no evaluation route (asked of
 * /openapi.json once, so a server without it costs no failed request), `[]` when the job has no completed one.
 */
export async function newestEvalFigures(get: <T>(path: string) => Promise<T>, jobId: string): Promise<{ suite: string; figures: EvalFigure[] } | null | []> {
  evalRoute ??= fetch('/openapi.json')
    .then((r) => r.json())
    .then((doc: { paths?: Record<string, unknown> }) => '/v1/jobs/{id}/eval' in (doc.paths ?? {}))
    .catch(() => false);
  if (!(await evalRoute)) return null;
  const { evals } = await get<{ evals: StoredEval[] }>(`/v1/jobs/${encodeURIComponent(jobId)}/eval`);
  const done = evals.filter((e) => e.status === 'completed' && e.report).sort((a, b) => (b.finishedAt ?? '').localeCompare(a.finishedAt ?? ''));
  return done.length === 0 ? [] : { suite: done[0].suite, figures: evalFigures(done[0].report) };
}

export const formatFigure = (f: EvalFigure): string => `${f.value.toFixed(3)}${f.low !== null && f.high !== null ? ` [${f.low.toFixed(3)}, ${f.high.toFixed(3)}]` : ''}`;
