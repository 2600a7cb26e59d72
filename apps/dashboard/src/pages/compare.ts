import type { JobView } from '@unilab/api/client';
import { joinCurves, lineChart, PALETTE } from '../chart.ts';
import { fmt, h } from '../dom.ts';
import { formatFigure, newestEvalFigures, type EvalFigure } from '../eval-figures.ts';
import { JobCurves, type CurvePoint } from '../job-curves.ts';
import type { Page } from '../main.ts';
import { api } from '../session.ts';

const CURVE_POINTS = 1000;
const MAX_COMPARED = PALETTE.length;

interface Compared {
  job: JobView;
  curves: JobCurves;
  /** The newest completed evaluation's figures; null when the server has no evaluation route. */
  evals: Awaited<ReturnType<typeof newestEvalFigures>>;
}

/** A job with its curves (downsampled to CURVE_POINTS) and its newest evaluation. */
async function loadCompared(id: string): Promise<Compared> {
  const [job, read, evals] = await Promise.all([
    api().job(id),
    api().json<{ metrics: CurvePoint[] }>('GET', `/v1/jobs/${encodeURIComponent(id)}/metrics?points=${CURVE_POINTS}`),
    newestEvalFigures((path) => api().json('GET', path), id),
  ]);
  const curves = new JobCurves();
  for (const point of read.metrics) curves.add(point);
  return { job, curves, evals };
}

/** Training and held-out loss of every compared job on one step axis each (held-out only where it was measured). */
function lossCharts(compared: readonly Compared[], label: (c: Compared) => string): ReturnType<typeof lineChart>[] {
  const train = lineChart('Training loss', 'step', compared.map((c, i) => ({ label: label(c), color: PALETTE[i] })), { height: 280 });
  const heldOut = lineChart('Held-out loss', 'step', compared.map((c, i) => ({ label: label(c), color: PALETTE[i], spanGaps: true })), { height: 220 });
  train.setData(joinCurves(compared.map((c) => ({ x: c.curves.x, y: c.curves.columns.loss }))));
  heldOut.setData(
    joinCurves(
      compared.map((c) => {
        const at = c.curves.columns.heldOutLoss.flatMap((v, i) => (v === null ? [] : [i]));
        return { x: at.map((i) => c.curves.x[i]), y: at.map((i) => c.curves.columns.heldOutLoss[i]) };
      }),
    ),
  );
  return [train, heldOut];
}

/** Each job's objective, architecture, size and final losses, and their change relative to the baseline (UL2's tables). */
function finalLossTable(compared: readonly Compared[], base: Compared, label: (c: Compared) => string): HTMLElement {
  const relative = (value: number | null, baseline: number | null) => (value === null || baseline === null || baseline === 0 ? '—' : `${(((value - baseline) / baseline) * 100).toFixed(1)}%`);
  const finals = (c: Compared) => ({ loss: c.curves.latest('loss'), heldOut: c.curves.latest('heldOutLoss') });
  const b = finals(base);
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'compare' },
      h('caption', {}, `Change relative to ${label(base)}: negative is a lower (better) loss.`),
      h('thead', {}, h('tr', {}, ...['Job', 'Objective', 'Architecture', 'Parameters', 'Steps', 'Training loss', 'Δ', 'Held-out loss', 'Δ'].map((t) => h('th', { scope: 'col' }, t)))),
      h(
        'tbody',
        {},
        ...compared.map((c, i) => {
          const f = finals(c);
          const spec = (c.job.spec ?? {}) as { objective?: { name?: string; mixture?: { name: string }[] }; model?: { architecture?: string } };
          const objective = spec.objective?.name ?? spec.objective?.mixture?.map((m) => m.name).join('+') ?? '—';
          return h(
            'tr',
            {},
            h('th', { scope: 'row' }, h('span', { class: 'swatch', style: `background:${PALETTE[i]}`, 'aria-hidden': 'true' }), h('a', { href: `#/jobs/${encodeURIComponent(c.job.id)}` }, label(c))),
            h('td', {}, objective),
            h('td', {}, spec.model?.architecture ?? '—'),
            h('td', { class: 'num' }, fmt.compact(c.job.parameters)),
            h('td', { class: 'num' }, fmt.int(c.job.step)),
            h('td', { class: 'num' }, fmt.loss(f.loss)),
            h('td', { class: 'num' }, c === base ? 'baseline' : relative(f.loss, b.loss)),
            h('td', { class: 'num' }, fmt.loss(f.heldOut)),
            h('td', { class: 'num' }, c === base ? 'baseline' : relative(f.heldOut, b.heldOut)),
          );
        }),
      ),
    ),
  );
}

/**
 * Chosen jobs side by side: their training and held-out loss curves overlaid on one step axis, and a table of each
 * one's objective, architecture, size and final losses relative to a baseline job, in the manner of UL2's tables
 * (Tay et al. 2022, Tables 3-4: each objective's change relative to a causal-LM baseline, in percent). Only the
 * losses are compared here: held-out loss compares jobs trained on the same data and tokenizer.
 */
export const comparePage: Page = (ctx) => {
  const { main } = ctx;
  const chosen = (ctx.params.get('jobs') ?? '').split(',').filter(Boolean).slice(0, MAX_COMPARED);
  const baselineId = ctx.params.get('baseline') ?? chosen[0];
  let charts: ReturnType<typeof lineChart>[] = [];

  const picker = h('fieldset', { class: 'picker' }, h('legend', {}, `Jobs to compare (up to ${MAX_COMPARED})`));
  const results = h('div', { 'aria-live': 'polite' });
  main.append(h('h1', {}, 'Compare'), picker, results);

  const go = (jobs: string[], baseline?: string) => {
    const q = new URLSearchParams({ jobs: jobs.join(',') });
    if (baseline) q.set('baseline', baseline);
    location.hash = `#/compare?${q}`;
  };

  (async () => {
    try {
      const recent = (await api().json<{ jobs: JobView[] }>('GET', '/v1/jobs?limit=100')).jobs;
      const boxes = recent.map((j) => h('input', { type: 'checkbox', id: `pick-${j.id}`, value: j.id, checked: chosen.includes(j.id) }));
      picker.append(
        h('div', { class: 'picks' }, ...recent.map((j, i) => h('span', { class: 'pick' }, boxes[i], h('label', { for: `pick-${j.id}` }, `${j.name || j.id} `, h('span', { class: 'muted' }, `${j.id} · ${j.status}`))))),
        h('button', { type: 'button', onclick: () => go(boxes.filter((b) => b.checked).map((b) => b.value).slice(0, MAX_COMPARED)) }, 'Compare'),
      );
      if (chosen.length === 0) {
        results.append(h('p', {}, 'Tick the jobs to compare, or select them on the jobs page.'));
        return;
      }
      render(await Promise.all(chosen.map(loadCompared)));
    } catch (err) {
      ctx.fail(err);
    }
  })();

  function render(compared: Compared[]): void {
    const label = (c: Compared) => c.job.name || c.job.id;
    charts = lossCharts(compared, label);
    const base = compared.find((c) => c.job.id === baselineId) ?? compared[0];
    const baseSelect = h(
      'select',
      { id: 'baseline', onchange: () => go(chosen, baseSelect.value) },
      ...compared.map((c) => h('option', { value: c.job.id, selected: c === base }, label(c))),
    );
    results.replaceChildren(
      ...charts.map((c) => c.element),
      h('h2', {}, 'Final losses'),
      h('div', { class: 'toolbar' }, h('label', { for: 'baseline' }, 'Baseline'), baseSelect),
      finalLossTable(compared, base, label),
      ...evalTable(compared, base, label),
    );
  }

  return () => {
    for (const chart of charts) chart.destroy();
  };
};

/**
 * The jobs' evaluation figures side by side, each with its 95% interval and its change relative to the baseline's
 * value (UL2's relative table, with the intervals that say which differences to trust).
 */
function evalTable(compared: Compared[], base: Compared, label: (c: Compared) => string): HTMLElement[] {
  const heading = h('h2', {}, 'Evaluation');
  if (compared.every((c) => c.evals === null)) return [heading, h('p', { class: 'muted' }, 'This server does not evaluate jobs; the losses above are what compares.')];
  const figures = compared.map((c) => new Map((c.evals && !Array.isArray(c.evals) ? c.evals.figures : []).map((f) => [f.label, f])));
  const labels = [...new Set(figures.flatMap((m) => [...m.keys()]))];
  if (labels.length === 0) return [heading, h('p', { class: 'muted' }, 'None of these jobs has a completed evaluation.')];
  const baseFigures = figures[compared.indexOf(base)];
  const cell = (f: EvalFigure | undefined, b: EvalFigure | undefined, isBase: boolean) =>
    !f ? '—' : `${formatFigure(f)}${isBase || !b || b.value === 0 ? '' : ` (${(((f.value - b.value) / Math.abs(b.value)) * 100).toFixed(1)}%)`}`;
  return [
    heading,
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { class: 'compare-eval' },
        h('caption', {}, `Value [95% CI] and change relative to ${label(base)}`),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Figure'), ...compared.map((c) => h('th', { scope: 'col' }, label(c))))),
        h('tbody', {}, ...labels.map((l) => h('tr', {}, h('th', { scope: 'row' }, l), ...compared.map((c, i) => h('td', { class: 'num' }, cell(figures[i].get(l), baseFigures.get(l), c === base)))))),
      ),
    ),
  ];
}
