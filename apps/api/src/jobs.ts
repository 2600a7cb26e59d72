import { rm } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import type { AlignmentJobEvent, AlignmentJobOutcome } from '@unilab/eval';
import type { JobEvent, JobOutcome } from '@unilab/runner';
import type { JobAdmission } from './admission.ts';
import { storeJobEvent } from './job-event-log.ts';
import type { JobListener, JobQueue } from './job-queue.ts';
import { FINISHED, type JobRecord, type JobStatus, type JobStore, type JobUpdate } from './store.ts';
import type { FromWorker, WorkerHandle } from './worker-protocol.ts';

export type { JobListener } from './job-queue.ts';

export class JobConflictError extends Error {
  readonly status = 409;
}

interface RunningJob {
  worker: WorkerHandle;
  done: Promise<void>;
  settle(): void;
  /** Set by a cancel: terminates the worker if the job has not stopped at a step boundary by then. */
  hardStop?: ReturnType<typeof setTimeout>;
}

export interface JobManagerOptions {
  maxConcurrentJobs: number;
  shutdownGraceMs: number;
  /** How long a cancelled job has to reach a step boundary before its worker is terminated. */
  cancelGraceMs: number;
  /** Every job directory lies inside it; deleting a job removes nothing outside. */
  dataDir: string;
  /** Runs in a row the server may die under before recovery fails the job instead of resuming it. */
  maxInterruptedRuns: number;
  /** The configuration file whose plugins every worker loads. */
  pluginConfig: string | null;
}

/**
 * The embedded queue: runs jobs in worker threads of this process, at most maxConcurrentJobs at once (the rest wait
 * in submission order), and turns what workers report into the store's event log and job rows, and into live events
 * for SSE listeners.
 */
export class JobManager implements JobQueue {
  readonly backend = 'embedded';
  private readonly running = new Map<string, RunningJob>();
  private readonly listeners = new Map<string, Set<JobListener>>();
  private closing = false;

  constructor(
    private readonly store: JobStore,
    private readonly startWorker: () => WorkerHandle,
    private readonly options: JobManagerOptions,
  ) {}

  get runningCount(): number {
    return this.running.size;
  }

  /**
   * After a restart: a job still marked running lost its worker with the previous server (a crash or kill -9). It
   * becomes interrupted; with autoResume, interrupted jobs go back into the queue and continue from their newest
   * intact checkpoint. A job the server died under maxInterruptedRuns times in a row fails instead: it may be what
   * brings the server down (memory), and resuming it forever would take the server down forever.
   */
  recover(autoResume: boolean): void {
    for (const job of this.store.jobsWithStatus('running')) {
      const checkpointStep = this.store.checkpoints(job.id).at(-1)?.globalStep ?? 0;
      const where = `last step reported ${job.step}; its newest checkpoint is at step ${checkpointStep}`;
      if (job.cancelRequestedAt) {
        this.setStatus(job.id, 'cancelled', { message: `cancelled: the server stopped before the job reached a step boundary (${where})`, step: job.step }, { finishedAt: now() });
        continue;
      }
      const interruptedRuns = this.interruptedRunsInARow(job.id) + 1;
      if (interruptedRuns >= this.options.maxInterruptedRuns) {
        const message =
          `the server stopped ${interruptedRuns} times in a row while the job ran (${where}); it is not resumed again, ` +
          `since the job may be what brings the server down (maxInterruptedRuns ${this.options.maxInterruptedRuns}); POST /v1/jobs/${job.id}/resume tries again`;
        this.setStatus(job.id, 'failed', { message, step: job.step, checkpointStep, interruptedRuns }, { error: message, finishedAt: now() });
      } else
        this.setStatus(job.id, 'interrupted', { message: `the server stopped while the job ran (${where})`, step: job.step, checkpointStep, interruptedRuns });
    }
    if (autoResume) for (const job of this.store.jobsWithStatus('interrupted')) this.resume(job.id, 'server');
    this.schedule();
  }

  /**
   * How many times in a row the server died under the job, from its status log: the count on its last unclean
   * interruption, unless something else (a clean stop, a client's resume, an end) came after it.
   */
  private interruptedRunsInARow(id: string): number {
    const statuses = this.store.statusEvents(id);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const s = statuses[i];
      if (s.status === 'running' || (s.status === 'queued' && s.requestedBy === 'server')) continue;
      return s.status === 'interrupted' && typeof s.interruptedRuns === 'number' ? s.interruptedRuns : 0;
    }
    return 0;
  }

  submit(id: string, spec: unknown, admitted: JobAdmission): JobRecord {
    this.store.insertJob({
      id,
      name: admitted.name,
      spec,
      runSpec: admitted.runSpec,
      outDir: admitted.outDir,
      totalSteps: admitted.totalSteps,
      stageCount: admitted.stageCount,
    });
    this.setStatus(id, 'queued', { message: 'submitted' });
    this.schedule();
    return this.store.getJob(id)!;
  }

  /**
   * Queued or interrupted jobs stop at once; a running job stops after its current step, with a checkpoint, or is
   * stopped hard (its worker terminated) when it does not reach a step boundary within cancelGraceMs. The request is
   * stored, so a server that stops meanwhile does not resume the job on its next start.
   */
  cancel(id: string): JobRecord {
    const job = this.require(id);
    if (FINISHED.includes(job.status)) throw new JobConflictError(`job ${id} is already ${job.status}`);
    const running = this.running.get(id);
    if (running) {
      if (running.hardStop) return job;
      running.worker.post({ type: 'cancel' });
      const grace = this.options.cancelGraceMs;
      this.append(id, 'cancel-requested', { message: `stopping after the current step (its worker is stopped in ${grace} ms if it does not get there)` }, { cancelRequestedAt: now() });
      running.hardStop = setTimeout(() => this.stopHard(id, grace), grace);
    } else {
      this.setStatus(id, 'cancelled', { message: 'cancelled before it ran again' }, { finishedAt: now() });
    }
    return this.store.getJob(id)!;
  }

  /**
   * Queue an interrupted, cancelled or failed job again; it continues from its newest intact checkpoint. A client's
   * resume starts the count of interrupted runs afresh; the server's own (autoResume) does not.
   */
  resume(id: string, requestedBy: 'client' | 'server' = 'client'): JobRecord {
    const job = this.require(id);
    if (!['interrupted', 'cancelled', 'failed'].includes(job.status))
      throw new JobConflictError(`job ${id} is ${job.status}; only interrupted, cancelled or failed jobs can be resumed`);
    this.setStatus(
      id,
      'queued',
      { message: `resume requested (was ${job.status})`, requestedBy },
      { queued: true, finishedAt: null, error: null, errorStep: null, errorPhase: null, errorOp: null, cancelRequestedAt: null },
    );
    this.schedule();
    return this.store.getJob(id)!;
  }

  /** A damaged checkpoint was passed over (by completions: the runner reports its own from the worker). */
  checkpointSkipped(id: string, data: { step: number | null; path: string; reason: string; by: string }): void {
    this.append(id, 'checkpoint-skipped', data);
  }

  /**
   * Delete a job that is not running or queued: its rows first (so nothing can resume it meanwhile), then its
   * directory. Its event streams end.
   */
  async remove(id: string): Promise<void> {
    const job = this.require(id);
    if (job.status === 'running' || job.status === 'queued' || this.running.has(id))
      throw new JobConflictError(`job ${id} is ${job.status}; cancel it first, then delete it`);
    const inside = relative(this.options.dataDir, job.outDir);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) throw new Error(`job ${id}'s directory is not inside the data directory; not removing it`);
    this.store.deleteJob(id);
    for (const listener of this.listeners.get(id) ?? []) listener(null);
    this.listeners.delete(id);
    await rm(job.outDir, { recursive: true, force: true });
  }

  subscribe(id: string, listener: JobListener): () => void {
    const set = this.listeners.get(id) ?? new Set();
    set.add(listener);
    this.listeners.set(id, set);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  /**
   * Stop: running jobs are asked to checkpoint and stop, and marked interrupted so that the next server resumes
   * them; workers that do not finish within the grace period are terminated. SSE listeners are told to end.
   */
  async close(): Promise<void> {
    this.closing = true;
    const jobs = [...this.running.entries()];
    for (const [, job] of jobs) job.worker.post({ type: 'cancel' });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(jobs.map(([, job]) => job.done)), new Promise((r) => (timer = setTimeout(r, this.options.shutdownGraceMs)))]);
    clearTimeout(timer);
    for (const [id] of this.running)
      if (this.store.getJob(id)?.cancelRequestedAt) this.finish(id, 'cancelled', { message: 'cancelled; the server shut down before the job reached a step boundary' });
      else this.finish(id, 'interrupted', { message: 'the server shut down before the job could checkpoint' });
    for (const set of this.listeners.values()) for (const listener of set) listener(null);
    this.listeners.clear();
  }

  private schedule(): void {
    if (this.closing) return;
    for (const job of this.store.jobsWithStatus('queued')) {
      if (this.running.size >= this.options.maxConcurrentJobs) return;
      this.start(job);
    }
  }

  private start(job: JobRecord): void {
    const worker = this.startWorker();
    let settle = () => {};
    const done = new Promise<void>((r) => (settle = r));
    this.running.set(job.id, { worker, done, settle });
    const resume = job.runs > 0;
    this.setStatus(job.id, 'running', { message: resume ? 'resuming from the newest intact checkpoint' : 'started', resume }, { runs: job.runs + 1, startedAt: job.startedAt ?? now() });
    worker.onMessage((message) => this.onWorkerMessage(job.id, message));
    worker.onCrash((err) => this.finish(job.id, 'failed', { message: `the job's worker died: ${err.message}` }, { error: `the job's worker died: ${err.message}` }));
    worker.post({ type: 'train', jobId: job.id, spec: job.runSpec, outDir: job.outDir, resume, pluginConfig: this.options.pluginConfig });
  }

  private onWorkerMessage(id: string, message: FromWorker): void {
    if (!this.running.has(id)) return;
    if (message.type === 'event') this.record(id, message.event);
    else if (message.type === 'done') this.finishWith(id, message.outcome);
    else if (message.type === 'failed')
      this.finish(
        id,
        'failed',
        { message: message.message, step: message.step, phase: message.phase, op: message.op },
        { error: message.message, errorStep: message.step, errorPhase: message.phase, errorOp: message.op },
      );
  }

  private finishWith(id: string, outcome: JobOutcome | AlignmentJobOutcome): void {
    if (outcome.status === 'completed') this.finish(id, 'completed', { message: 'done', step: outcome.globalStep, checkpoint: outcome.checkpoint });
    else if (outcome.status === 'stopped') this.finish(id, 'stopped', { message: outcome.reason, step: outcome.globalStep }, { error: outcome.reason });
    else if (this.closing && !this.store.getJob(id)?.cancelRequestedAt) this.finish(id, 'interrupted', { message: `the server shut down; checkpoint written at step ${outcome.globalStep}`, step: outcome.globalStep });
    else this.finish(id, 'cancelled', { message: `cancelled; checkpoint written at step ${outcome.globalStep}`, step: outcome.globalStep });
  }

  /** A cancelled job that did not reach a step boundary in time: terminate its worker; it ends cancelled where it was. */
  private stopHard(id: string, graceMs: number): void {
    const job = this.store.getJob(id);
    if (!job || !this.running.has(id)) return;
    const last = this.store.checkpoints(id).at(-1);
    this.finish(id, 'cancelled', {
      message: `cancelled: the job did not reach a step boundary within ${graceMs} ms, so its worker was stopped at step ${job.step}; a resume continues from its newest intact checkpoint (step ${last?.globalStep ?? 0})`,
      step: job.step,
      checkpointStep: last?.globalStep ?? 0,
      stoppedHard: true,
    });
  }

  private finish(id: string, status: JobStatus, data: Record<string, unknown>, update: JobUpdate = {}): void {
    const job = this.running.get(id);
    if (!job) return;
    clearTimeout(job.hardStop);
    this.running.delete(id);
    void job.worker.terminate();
    this.setStatus(id, status, data, { ...update, ...(FINISHED.includes(status) && { finishedAt: now() }) });
    job.settle();
    this.schedule();
  }

  /** Store a worker's training event (a pre-training or an alignment job's: one shape), keep the job row current, and pass it on to listeners. */
  private record(id: string, event: JobEvent | AlignmentJobEvent): void {
    const stored = storeJobEvent(this.store, id, event);
    for (const listener of this.listeners.get(id) ?? []) listener(stored);
  }

  private setStatus(id: string, status: JobStatus, data: Record<string, unknown>, update: JobUpdate = {}): void {
    this.append(id, 'status', { status, ...data }, { ...update, status });
  }

  private append(id: string, type: string, data: Record<string, unknown>, update?: JobUpdate): void {
    const event = this.store.appendEvent(id, type, data, update);
    for (const listener of this.listeners.get(id) ?? []) listener(event);
  }

  private require(id: string): JobRecord {
    const job = this.store.getJob(id);
    if (!job) throw new JobNotFoundError(id);
    return job;
  }
}

export class JobNotFoundError extends Error {
  readonly status = 404;
  constructor(id: string) {
    super(`no job with id ${JSON.stringify(id)}`);
  }
}

const now = () => new Date().toISOString();
