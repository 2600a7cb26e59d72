import type { SuiteName } from '@unilab/eval';
import type { EvalRecord, EvalStore } from './eval-store.ts';
import { JobConflictError } from './jobs.ts';
import type { WorkerHandle } from './worker-protocol.ts';

/**
 * Runs evaluations of finished jobs' checkpoints, one at a time, each in a worker of its own (terminated when it
 * reports), so a long suite never blocks the server's event loop and its memory goes with the worker. Evaluations
 * left queued or running by a stopped server are queued again at start: an evaluation is deterministic, so running
 * it again gives the report it would have given.
 */
export class EvalService {
  private running: { jobId: string; suite: SuiteName; worker: WorkerHandle } | null = null;
  private closing = false;

  constructor(
    private readonly store: EvalStore,
    private readonly startWorker: () => WorkerHandle,
    private readonly pluginConfig: string | null,
  ) {}

  recover(): void {
    for (const e of this.store.withStatus('running')) this.store.requeue(e.jobId, e.suite);
    this.schedule();
  }

  submit(jobId: string, suite: SuiteName, checkpoint: string): EvalRecord {
    const current = this.store.get(jobId, suite);
    if (current && (current.status === 'queued' || current.status === 'running'))
      throw new JobConflictError(`an evaluation of job ${jobId} with the ${suite} suite is already ${current.status}`);
    const record = this.store.queue(jobId, suite, checkpoint);
    this.schedule();
    return this.store.get(jobId, suite) ?? record;
  }

  forJob(jobId: string): EvalRecord[] {
    return this.store.forJob(jobId);
  }

  /**
   * A job is being deleted: refuse while one of its evaluations is queued or running (it reads the job's
   * checkpoints), else drop its stored reports with it.
   */
  forgetJob(jobId: string): void {
    const busy = this.store.forJob(jobId).find((e) => e.status === 'queued' || e.status === 'running');
    if (busy) throw new JobConflictError(`job ${jobId} has an evaluation (${busy.suite} suite) ${busy.status}; delete it when that has finished`);
    this.store.forget(jobId);
  }

  /** Stop the running evaluation's worker; it stays marked running, so the next server queues it again. */
  async close(): Promise<void> {
    this.closing = true;
    const running = this.running;
    this.running = null;
    await running?.worker.terminate();
  }

  private schedule(): void {
    if (this.closing || this.running) return;
    const next = this.store.withStatus('queued')[0];
    if (!next) return;
    const worker = this.startWorker();
    const { jobId, suite } = next;
    this.running = { jobId, suite, worker };
    this.store.started(jobId, suite);
    const settle = (finish: () => void) => {
      if (this.running?.worker !== worker) return;
      finish();
      this.running = null;
      void worker.terminate();
      this.schedule();
    };
    worker.onMessage((m) => {
      if (m.type === 'evaluated') settle(() => this.store.completed(jobId, suite, m.report));
      else if (m.type === 'evaluate-failed') settle(() => this.store.failed(jobId, suite, m.message));
    });
    worker.onCrash((err) => settle(() => this.store.failed(jobId, suite, `the evaluation's worker died: ${err.message}`)));
    worker.post({ type: 'evaluate', checkpoint: next.checkpoint, suite, pluginConfig: this.pluginConfig });
  }
}
