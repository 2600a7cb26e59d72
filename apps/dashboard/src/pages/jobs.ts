import type { JobView } from '@unilab/api/client';
import { announce, fmt, h } from '../dom.ts';
import { eta, jobActions } from '../job-actions.ts';
import type { Page } from '../main.ts';
import { api } from '../session.ts';

const PAGE_SIZE = 50;
const REFRESH_MS = 2000;
const STATUSES = ['queued', 'running', 'completed', 'stopped', 'failed', 'cancelled', 'interrupted'];

/**
 * Every job, newest first, a page of 50 at a time (the list route's `before` cursor: a thousand jobs never load at
 * once), refreshed every two seconds; status, stage, step, losses and ETA, with cancel, resume and delete. Tick
 * jobs to compare them. A spec pasted into the form is submitted as a new job.
 */
export const jobsPage: Page = (ctx) => {
  const { main } = ctx;
  const status = ctx.params.get('status') ?? '';
  const before = ctx.params.get('before') ?? undefined;
  const selected = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const filter = h('select', { id: 'status-filter', onchange: () => go({ status: filter.value, before: '' }) }, h('option', { value: '' }, 'all'), ...STATUSES.map((s) => h('option', { value: s, selected: s === status }, s)));
  const compare = h('button', { type: 'button', disabled: true, onclick: () => (location.hash = `#/compare?jobs=${[...selected].join(',')}`) }, 'Compare selected');
  const body = h('tbody');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Job pages' });

  main.append(
    h('h1', {}, 'Jobs'),
    h('div', { class: 'toolbar' }, h('label', { for: 'status-filter' }, 'Status'), filter, compare),
    h('div', { class: 'scroll' }, jobsTable(body)),
    pager,
    submitForm(ctx.fail, () => refresh()),
  );

  function go(change: { status?: string; before?: string }): void {
    const q = new URLSearchParams();
    const s = change.status ?? status;
    const b = change.before ?? before ?? '';
    if (s) q.set('status', s);
    if (b) q.set('before', b);
    location.hash = `#/jobs${q.size > 0 ? `?${q}` : ''}`;
  }

  async function refresh(): Promise<void> {
    clearTimeout(timer);
    try {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (status) query.set('status', status);
      if (before) query.set('before', before);
      const page = await api().json<{ jobs: JobView[]; next: string | null }>('GET', `/v1/jobs?${query}`);
      if (stopped) return;
      render(page.jobs, page.next);
      timer = setTimeout(refresh, REFRESH_MS);
    } catch (err) {
      ctx.fail(err);
    }
  }

  let shown = '';
  function render(jobs: JobView[], next: string | null): void {
    // Redraw only what changed, and give keyboard focus back to the control that had it.
    const state = JSON.stringify([jobs, next, Math.floor(Date.now() / 10_000)]);
    if (state === shown) return;
    shown = state;
    const focused = document.activeElement && main.contains(document.activeElement) ? focusKey(document.activeElement) : null;
    body.replaceChildren(
      ...(jobs.length === 0 ? [h('tr', {}, h('td', { colspan: 9 }, 'No jobs yet: submit one below, or with ', h('code', {}, 'unilab submit spec.json'), '.'))] : []),
      ...jobs.map((job) => {
        const box = h('input', {
          type: 'checkbox',
          'aria-label': `Select ${job.name || job.id} to compare`,
          checked: selected.has(job.id),
          onchange: () => {
            if (box.checked) selected.add(job.id);
            else selected.delete(job.id);
            compare.disabled = selected.size === 0;
          },
        });
        return jobRow(job, box, jobActions(job, () => refresh(), ctx.fail));
      }),
    );
    pager.replaceChildren(
      before ? h('a', { href: `#/jobs${status ? `?status=${status}` : ''}` }, 'Newest') : '',
      next ? h('a', { href: `#/jobs?${new URLSearchParams({ ...(status && { status }), before: next })}`, rel: 'next' }, 'Older jobs') : '',
    );
    if (focused) Array.from(main.querySelectorAll<HTMLElement>('a, button, input')).find((el) => focusKey(el) === focused)?.focus();
  }

  void refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
};

function jobsTable(body: HTMLElement): HTMLElement {
  const columns = ['', 'Job', 'Status', 'Stage', 'Step', 'Loss', 'Held-out', 'ETA', 'Actions'];
  return h(
    'table',
    { class: 'jobs' },
    h('caption', { class: 'visually-hidden' }, 'Jobs, newest first'),
    h('thead', {}, h('tr', {}, ...columns.map((t, i) => h('th', { scope: 'col' }, i === 0 ? h('span', { class: 'visually-hidden' }, 'Select') : t)))),
    body,
  );
}

/** One job's row: its select box, name and id, status, stage, step, losses, ETA and actions. */
function jobRow(job: JobView, box: HTMLElement, actions: HTMLElement): HTMLElement {
  return h(
    'tr',
    { 'data-job': job.id, 'data-status': job.status },
    h('td', {}, box),
    h('td', {}, h('a', { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.name || job.id), h('div', { class: 'muted' }, job.id)),
    h('td', { 'data-label': 'Status' }, h('span', { class: `status status-${job.status}` }, job.status)),
    h('td', { 'data-label': 'Stage' }, job.stage.count > 1 ? `${job.stage.name ?? job.stage.index + 1} (${job.stage.index + 1}/${job.stage.count})` : job.stage.name ?? '—'),
    h('td', { class: 'num', 'data-label': 'Step' }, `${fmt.int(job.step)} / ${fmt.int(job.totalSteps)}`),
    h('td', { class: 'num', 'data-label': 'Loss' }, fmt.loss(job.metrics.loss)),
    h('td', { class: 'num', 'data-label': 'Held-out' }, fmt.loss(job.metrics.heldOutLoss)),
    h('td', { class: 'num', 'data-label': 'ETA' }, fmt.duration(eta(job))),
    h('td', {}, actions),
  );
}

const focusKey = (el: Element) => el.getAttribute('aria-label') ?? el.getAttribute('href') ?? el.id;

/** A spec as JSON (what `unilab submit` takes), submitted as a new job; the server's refusal names the bad field. */
function submitForm(fail: (err: unknown) => void, submitted: () => void): HTMLElement {
  const spec = h('textarea', { id: 'spec', rows: 10, spellcheck: 'false', 'aria-describedby': 'spec-help' });
  return h(
    'details',
    { class: 'submit' },
    h('summary', {}, 'Submit a job'),
    h(
      'form',
      {
        onsubmit: async (e: Event) => {
          e.preventDefault();
          let parsed: unknown;
          try {
            parsed = JSON.parse(spec.value);
          } catch (err) {
            fail(new Error(`the spec is not JSON: ${(err as Error).message}`));
            return;
          }
          try {
            const job = await api().submit(parsed);
            announce(`Submitted ${job.name || job.id}`);
            spec.value = '';
            submitted();
          } catch (err) {
            fail(err);
          }
        },
      },
      h('label', { for: 'spec' }, 'Job spec (JSON)'),
      h('p', { id: 'spec-help', class: 'muted' }, 'The same spec as ', h('code', {}, 'unilab submit'), ' takes, e.g. examples/quickstart.json.'),
      spec,
      h('button', { type: 'submit' }, 'Submit'),
    ),
  );
}
