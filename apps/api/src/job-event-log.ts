import type { AlignmentJobEvent } from '@unilab/eval';
import type { JobEvent } from '@unilab/runner';
import type { JobStore, JobUpdate, StoredEvent } from './store.ts';

/**
 * Store one training event of a job: the job row kept current (stage, step, loss...), metrics and the checkpoint
 * index filled, and the event appended to the job's log. One function for both queue backends, so a job's record
 * reads the same whichever machine trained it.
 */
export function storeJobEvent(store: JobStore, id: string, event: JobEvent | AlignmentJobEvent): StoredEvent {
  const { type, ...data } = event;
  let update: JobUpdate = {};
  switch (event.type) {
    case 'stage':
      update = { stage: event.stage, stageName: event.name, attempt: event.attempt, step: event.globalStart };
      break;
    case 'start':
      update = { parameters: event.parameters, step: event.globalStep };
      break;
    case 'step':
      update = { step: event.globalStep, loss: event.loss, lr: event.lr };
      store.insertMetric(id, event);
      break;
    case 'eval':
      update = { heldOutLoss: event.heldOutLoss };
      store.insertMetric(id, event);
      break;
    case 'checkpoint':
      store.insertCheckpoint(id, event);
      break;
  }
  return store.appendEvent(id, type, data, update);
}
