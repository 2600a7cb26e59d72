import { jobLogEvent, type JobLogEvent, type JobView, type ServerSentEvent } from '@unilab/api/client';
import { lineChart, type LineChart } from '../chart.ts';
import { announce, fmt, h } from '../dom.ts';
import { formatFigure, newestEvalFigures, type EvalFigure } from '../eval-figures.ts';
import { eta, jobActions } from '../job-actions.ts';
import { JobCurves, type CurvePoint } from '../job-curves.ts';
import type { Page } from '../main.ts';
import { api } from '../session.ts';

/** Points asked of the metrics route: twice a wide chart's pixels, so min/max decimation loses nothing visible. */
const CURVE_POINTS = 2000;
/** A job with at most this many events is read from its whole event log (every step, the full timeline). */
const REPLAY_EVENTS = 5000;
const TIMELINE_TYPES = new Set(['status', 'stage', 'gate', 'stage-complete', 'checkpoint', 'checkpoint-skipped', 'cancel-requested']);

interface Checkpoint {
  stage: number;
  attempt: number;
  step: number;
  globalStep: number;
  path: string;
  at: string;
  available: boolean;
}

/**
 * One job: its summary and actions, live curves (training and held-out loss, learning rate, gradient norm, tokens/s),
 * its stages and what happened in them, its checkpoints, and a prompt box that samples from its newest checkpoint.
 *
 * A job of up to REPLAY_EVENTS events is read from its whole event stream (every step, and the timeline from the
 * start). A longer one loads its curves from the metrics route (downsampled to CURVE_POINTS, with the id of the
 * newest event at the time of the read) and follows the stream from that id: no event is missed or drawn twice, and
 * a job of 100,000 steps loads a few thousand points, not its whole log. A dropped stream reconnects with
 * Last-Event-ID (ApiClient.follow).
 */
export const jobPage: Page = (ctx, id) => {
  const abort = new AbortController();
  const curves = new JobCurves();
  let job: JobView | null = null;
  let lastEventId = 0;
  let following = false;
  /** Events up to this id were there when the page opened: replayed, they change nothing that is already loaded. */
  let replayedUpTo = 0;

  const { heading, summary, actions, charts, stages, timeline, checkpoints, evals } = jobLayout(ctx.main, id, ctx.fail);

  function renderSummary(): void {
    if (!job) return;
    heading.textContent = job.name || job.id;
    summary.replaceChildren(...summaryRows(job).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
    actions.replaceChildren(jobActions(job, () => void reload(), ctx.fail));
    stages.replaceChildren(...stageItems(job));
  }

  function onEvent(sse: ServerSentEvent): void {
    if (sse.id !== null) lastEventId = Number(sse.id);
    const e = jobLogEvent(sse);
    const replaying = sse.id !== null && Number(sse.id) <= replayedUpTo;
    if (e.type === 'step' || e.type === 'eval') {
      curves.add(e as CurvePoint);
      charts.draw(curves);
      if (job && e.type === 'step' && !replaying) showStep(job, e, curves);
    }
    if (TIMELINE_TYPES.has(e.type)) appendToTimeline(timeline, e);
    if (replaying) return;
    if (e.type === 'status' || e.type === 'stage' || e.type === 'start' || e.type === 'cancel-requested') void refreshJob();
    if (e.type === 'checkpoint') void showCheckpoints(id, checkpoints, ctx.fail);
  }

  async function refreshJob(): Promise<void> {
    try {
      job = await api().job(id);
      if (!abort.signal.aborted) renderSummary();
    } catch (err) {
      ctx.fail(err);
    }
  }

  /** Follow the job's events from the last one seen until it finishes; a resume starts following again. */
  async function follow(): Promise<void> {
    if (following || abort.signal.aborted) return;
    following = true;
    try {
      await api().follow(id, onEvent, { signal: abort.signal, after: lastEventId });
    } catch (err) {
      if (!abort.signal.aborted) ctx.fail(err);
    } finally {
      following = false;
    }
  }

  async function reload(): Promise<void> {
    await refreshJob();
    void follow();
  }

  (async () => {
    try {
      job = await api().job(id);
      renderSummary();
      const read = await api().json<{ metrics: CurvePoint[]; lastEventId: number }>('GET', `/v1/jobs/${encodeURIComponent(id)}/metrics?points=${CURVE_POINTS}`);
      replayedUpTo = read.lastEventId;
      if (read.lastEventId > REPLAY_EVENTS) {
        for (const point of read.metrics) curves.add(point);
        lastEventId = read.lastEventId;
        timeline.append(h('li', { class: 'muted' }, `${fmt.int(read.lastEventId)} earlier events not listed (the curves above hold their steps)`));
      }
      charts.draw(curves);
      announce(`Loaded ${job.name || job.id}: ${curves.length} points`);
      void showCheckpoints(id, checkpoints, ctx.fail);
      void showEvaluation(id, evals, ctx.fail);
      void follow();
    } catch (err) {
      ctx.fail(err);
    }
  })();

  return () => {
    abort.abort();
    charts.destroy();
  };
};

/** The page's sections, appended to `main`: the elements the page fills in as the job's data arrives. */
function jobLayout(main: HTMLElement, id: string, fail: (err: unknown) => void) {
  const view = {
    heading: h('h1', {}, id),
    summary: h('dl', { class: 'summary' }),
    actions: h('div', { class: 'toolbar' }),
    charts: curveCharts(),
    stages: h('ol', { class: 'stages' }),
    timeline: h('ol', { class: 'timeline', 'aria-label': 'Events' }),
    checkpoints: h('tbody'),
    evals: h('section', { 'aria-labelledby': 'eval-h' }, h('h2', { id: 'eval-h' }, 'Evaluation')),
  };
  main.append(
    h('p', {}, h('a', { href: '#/jobs' }, '← Jobs')),
    view.heading,
    view.summary,
    view.actions,
    h('section', { 'aria-labelledby': 'curves-h' }, h('h2', { id: 'curves-h' }, 'Curves'), ...view.charts.elements),
    h('section', { 'aria-labelledby': 'stages-h' }, h('h2', { id: 'stages-h' }, 'Stages and gates'), view.stages, h('h3', {}, 'Timeline'), view.timeline),
    checkpointSection(view.checkpoints),
    view.evals,
    promptBox(id, fail),
  );
  return view;
}

/** A live step event into the summary: step, loss (with the newest held-out loss) and ETA. */
function showStep(job: JobView, e: Extract<JobLogEvent, { type: 'step' }>, curves: JobCurves): void {
  job.step = e.globalStep;
  job.metrics.loss = e.loss;
  document.getElementById('job-step')!.textContent = `${fmt.int(job.step)} / ${fmt.int(job.totalSteps)}`;
  document.getElementById('job-loss')!.textContent = `${fmt.loss(job.metrics.loss)} (held-out ${fmt.loss(curves.latest('heldOutLoss'))})`;
  document.getElementById('job-eta')!.textContent = fmt.duration(eta(job));
}

/** One event into the timeline, which keeps the newest 200. */
function appendToTimeline(timeline: HTMLElement, e: JobLogEvent & { at?: string }): void {
  const at = e.at ? new Date(e.at).toLocaleTimeString('en-GB') : '';
  timeline.append(h('li', { class: `ev-${e.type}` }, h('time', {}, at), ' ', timelineText(e)));
  while (timeline.childElementCount > 200) timeline.firstElementChild!.remove();
}

async function showCheckpoints(id: string, rows: HTMLElement, fail: (err: unknown) => void): Promise<void> {
  try {
    const list = (await api().json<{ checkpoints: Checkpoint[] }>('GET', `/v1/jobs/${encodeURIComponent(id)}/checkpoints`)).checkpoints;
    rows.replaceChildren(...list.map(checkpointRow));
  } catch (err) {
    fail(err);
  }
}

async function showEvaluation(id: string, section: HTMLElement, fail: (err: unknown) => void): Promise<void> {
  try {
    const found = await newestEvalFigures((path) => api().json('GET', path), id);
    if (found === null) section.append(h('p', { class: 'muted' }, 'This server does not evaluate jobs.'));
    else if (Array.isArray(found)) section.append(h('p', { class: 'muted' }, 'No completed evaluation of this job.'));
    else section.append(evalTable(found));
  } catch (err) {
    fail(err);
  }
}

/** The loss chart (training and held-out) and the small ones (learning rate, gradient norm, tokens/s). */
function curveCharts(): { elements: HTMLElement[]; draw(curves: JobCurves): void; destroy(): void } {
  const loss = lineChart('Loss', 'step', [{ label: 'training loss' }, { label: 'held-out loss', spanGaps: true, dash: [6, 3] }], { height: 260 });
  const small: [LineChart, 'lr' | 'gradNorm' | 'tokensPerSecond'][] = [
    [lineChart('Learning rate', 'step', [{ label: 'lr' }], { height: 160 }), 'lr'],
    [lineChart('Gradient norm', 'step', [{ label: 'grad norm', color: '#6a3fa0' }], { height: 160 }), 'gradNorm'],
    [lineChart('Tokens per second', 'step', [{ label: 'tokens/s', color: '#1b7a3d', spanGaps: true }], { height: 160 }), 'tokensPerSecond'],
  ];
  return {
    elements: [loss.element, h('div', { class: 'grid' }, ...small.map(([c]) => c.element))],
    draw(curves) {
      loss.setData([curves.x, curves.columns.loss, curves.columns.heldOutLoss]);
      for (const [chart, column] of small) chart.setData([curves.x, curves.columns[column]]);
    },
    destroy() {
      loss.destroy();
      for (const [chart] of small) chart.destroy();
    },
  };
}

/** The summary's rows: id, status, stage, step, loss, parameters, ETA (the live ones with ids the events update). */
function summaryRows(job: JobView): [string, Node | string][] {
  const rows: [string, Node | string][] = [
    ['Id', job.id],
    ['Status', h('span', { class: `status status-${job.status}`, id: 'job-status' }, job.status)],
    ['Stage', job.stage.count > 1 ? `${job.stage.name ?? ''} (${job.stage.index + 1} of ${job.stage.count}, attempt ${job.stage.attempt + 1})` : job.stage.name ?? '—'],
    ['Step', h('span', { id: 'job-step' }, `${fmt.int(job.step)} / ${fmt.int(job.totalSteps)}`)],
    ['Loss', h('span', { id: 'job-loss' }, `${fmt.loss(job.metrics.loss)} (held-out ${fmt.loss(job.metrics.heldOutLoss)})`)],
    ['Parameters', fmt.compact(job.parameters)],
    ['ETA', h('span', { id: 'job-eta' }, fmt.duration(eta(job)))],
  ];
  if (job.error) rows.push(['Error', `${job.error.message}${job.error.step !== null ? ` (step ${job.error.step})` : ''}`]);
  return rows;
}

/** The spec's stages with their budgets and gates, the current one marked. */
function stageItems(j: JobView): HTMLElement[] {
  // An alignment job's stages (`kind: "align"`) are named by their kind (sft, rm, dpo, ppo); their gates pass each its own way.
  const spec = (j.spec ?? {}) as { stages?: { name?: string; kind?: string; steps?: number; tokens?: number; gate?: { metric: string; threshold: number; action: string } }[]; train?: { steps?: number } };
  const list = spec.stages ?? [{ name: 'train', steps: spec.train?.steps }];
  return list.map((s, i) =>
    h(
      'li',
      { class: i === j.stage.index ? 'current' : i < j.stage.index ? 'done' : '', 'aria-current': i === j.stage.index ? 'step' : undefined },
      h('strong', {}, s.name ?? s.kind ?? `stage ${i + 1}`),
      ` ${s.steps !== undefined ? `${fmt.int(s.steps)} steps` : s.tokens !== undefined ? `${fmt.compact(s.tokens)} tokens` : ''}`,
      s.gate ? h('span', { class: 'muted' }, ` gate: ${s.gate.metric} ${s.kind ? 'vs' : '≤'} ${s.gate.threshold}, else ${s.gate.action}`) : '',
    ),
  );
}

function checkpointSection(rows: HTMLElement): HTMLElement {
  const head = h('thead', {}, h('tr', {}, ...['Stage', 'Attempt', 'Step', 'Global step', 'Written', 'On disk'].map((t) => h('th', { scope: 'col' }, t))));
  return h('section', { 'aria-labelledby': 'ckpt-h' }, h('h2', { id: 'ckpt-h' }, 'Checkpoints'), h('div', { class: 'scroll' }, h('table', {}, head, rows)));
}

function checkpointRow(k: Checkpoint): HTMLElement {
  return h('tr', {}, h('td', {}, k.stage + 1), h('td', {}, k.attempt + 1), h('td', { class: 'num' }, fmt.int(k.step)), h('td', { class: 'num' }, fmt.int(k.globalStep)), h('td', {}, new Date(k.at).toLocaleString('en-GB')), h('td', {}, k.available ? 'yes' : 'no'));
}

/** The newest completed evaluation's figures, each with its 95% interval and sample size. */
function evalTable(found: { suite: string; figures: EvalFigure[] }): HTMLElement {
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      {},
      h('caption', {}, `Suite ${found.suite}: value and 95% interval`),
      h('thead', {}, h('tr', {}, ...['Figure', 'Value [95% CI]', 'n'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...found.figures.map((f) => h('tr', {}, h('th', { scope: 'row' }, f.label), h('td', { class: 'num' }, formatFigure(f)), h('td', { class: 'num' }, fmt.int(f.n))))),
    ),
  );
}

/** Sample from the job's newest intact checkpoint through the OpenAI-compatible completions route. */
function promptBox(id: string, fail: (err: unknown) => void): HTMLElement {
  const prompt = h('textarea', { id: 'prompt', rows: 3, spellcheck: 'false' }, 'The');
  const maxTokens = h('input', { id: 'max-tokens', type: 'number', min: 1, max: 256, value: 40, inputmode: 'numeric' });
  const output = h('output', { id: 'completion', for: 'prompt', class: 'completion' });
  return h(
    'section',
    { 'aria-labelledby': 'prompt-h' },
    h('h2', { id: 'prompt-h' }, 'Prompt'),
    h(
      'form',
      {
        onsubmit: async (e: Event) => {
          e.preventDefault();
          output.textContent = '…';
          try {
            const answer = await api().json<{ choices: { text: string }[] }>('POST', '/v1/completions', { model: id, prompt: prompt.value, max_tokens: Number(maxTokens.value) });
            output.textContent = prompt.value + answer.choices[0].text;
          } catch (err) {
            output.textContent = '';
            fail(err);
          }
        },
      },
      h('label', { for: 'prompt' }, 'Prompt text'),
      prompt,
      h('label', { for: 'max-tokens' }, 'Tokens to generate'),
      maxTokens,
      h('button', { type: 'submit' }, 'Complete'),
      output,
    ),
  );
}

/** One line of the events timeline. */
function timelineText(e: JobLogEvent): string {
  switch (e.type) {
    case 'status':
      return `status ${e.status}${e.message ? `: ${e.message}` : ''}`;
    case 'stage':
      return `stage ${e.name} (attempt ${e.attempt + 1}) starts at step ${e.globalStart}${e.resumed ? ', resumed' : ''}`;
    case 'gate':
      return `gate ${e.metric} = ${fmt.loss(e.value)} ${'comparison' in e ? e.comparison : '≤'} ${e.threshold}: ${e.passed ? 'passed' : 'failed'}, ${e.next}`;
    case 'stage-complete':
      return `stage ${e.name} complete at step ${e.globalStep}${'heldOutLoss' in e ? `, held-out ${fmt.loss(e.heldOutLoss)}` : ''}`;
    case 'checkpoint':
      return `checkpoint at step ${e.globalStep}`;
    default:
      return e.type;
  }
}
