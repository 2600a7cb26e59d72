import type { JobView } from '@unilab/api/client';
import { announce, confirmAction, h } from './dom.ts';
import { api } from './session.ts';

const CANCELLABLE = ['queued', 'running'];
const RESUMABLE = ['interrupted', 'cancelled', 'failed'];

/** Where a running job will be done, from its pace since it started (a rough guide: the pace changes with stages). */
export function eta(job: JobView, now = Date.now()): number | null {
  if (job.status !== 'running' || !job.startedAt || job.step <= 0) return null;
  const elapsed = now - Date.parse(job.startedAt);
  return (elapsed / job.step) * Math.max(0, job.totalSteps - job.step);
}

/**
 * Cancel, resume and delete buttons for what the job's status allows; each asks first (in the page's dialog) and
 * calls `changed` once the server has answered.
 */
export function jobActions(job: JobView, changed: () => void, onError: (err: unknown) => void): HTMLElement {
  const label = job.name || job.id;
  const act = (verb: string, title: string, text: string, run: () => Promise<unknown>) =>
    h('button', {
      type: 'button',
      class: verb === 'Delete' ? 'danger' : '',
      'aria-label': `${verb} ${label}`,
      onclick: async () => {
        if (!(await confirmAction(title, text, verb))) return;
        try {
          await run();
          announce(`${verb} of ${label} accepted`);
          changed();
        } catch (err) {
          onError(err);
        }
      },
    }, verb);
  const buttons: HTMLElement[] = [];
  if (CANCELLABLE.includes(job.status))
    buttons.push(act('Cancel', `Cancel ${label}?`, job.status === 'running' ? 'It stops after the current step and writes a checkpoint; you can resume it later.' : 'It leaves the queue; you can resume it later.', () => api().cancel(job.id)));
  if (RESUMABLE.includes(job.status))
    buttons.push(act('Resume', `Resume ${label}?`, 'It continues from its newest intact checkpoint.', () => api().resume(job.id)));
  if (!CANCELLABLE.includes(job.status))
    buttons.push(act('Delete', `Delete ${label}?`, 'Its record, events, metrics and checkpoints are removed for good.', () => api().delete(job.id)));
  return h('span', { class: 'actions' }, ...buttons);
}
