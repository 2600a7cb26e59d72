import type { JobEvent, JobOutcome } from '@unilab/runner';
import type { AdmittedJob } from './admission.ts';
import { FINISHED, type JobRecord, type JobStatus, type JobStore, type JobUpdate, type StoredEvent } from './store.ts';
import type { FromWorker, WorkerHandle } from './worker-protocol.ts';

/** A listener of one job's events; `null` means the server is closing and the stream should end. */
export type JobListener = (event: StoredEvent | null) => void;

export class JobConflictError extends Error {
  readonly status = 409;
}

interface RunningJob {
  worker: WorkerHandle;
  done: Promise<void>;
  settle(): void;
}

export interface JobManagerOptions {
  maxConcurrentJobs: number;
  shutdownGraceMs: number;
  /** Runs in a row the server may die under before recovery fails the job instead of resuming it. */
  maxInterruptedRuns: number;
  /** The configuration file whose plugins every worker loads. */
  pluginConfig: string | null;
}

/**
 * Runs jobs in workers, at most maxConcurrentJobs at once (the rest wait in submission order), and turns what
 * workers report into the store's event log and job rows, and into live events for SSE listeners.
 */
export class JobManager {
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

  submit(id: string, spec: unknown, admitted: AdmittedJob): JobRecord {
    this.store.insertJob({
      id,
      name: admitted.job.name,
      spec,
      runSpec: admitted.runSpec,
      outDir: admitted.outDir,
      totalSteps: admitted.job.totalSteps,
      stageCount: admitted.job.stages.length,
    });
    this.setStatus(id, 'queued', { message: 'submitted' });
    this.schedule();
    return this.store.getJob(id)!;
  }

  /** Queued or interrupted jobs stop at once; a running job stops after its current step, with a checkpoint. */
  cancel(id: string): JobRecord {
    const job = this.require(id);
    if (FINISHED.includes(job.status)) throw new JobConflictError(`job ${id} is already ${job.status}`);
    const running = this.running.get(id);
    if (running) {
      running.worker.post({ type: 'cancel' });
      this.append(id, 'cancel-requested', { message: 'stopping after the current step' });
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
    this.setStatus(id, 'queued', { message: `resume requested (was ${job.status})`, requestedBy }, { queued: true, finishedAt: null, error: null, errorStep: null, errorPhase: null, errorOp: null });
    this.schedule();
    return this.store.getJob(id)!;
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
    for (const [id] of this.running) this.finish(id, 'interrupted', { message: 'the server shut down before the job could checkpoint' });
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
    worker.post({ type: 'train', spec: job.runSpec, outDir: job.outDir, resume, pluginConfig: this.options.pluginConfig });
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

  private finishWith(id: string, outcome: JobOutcome): void {
    if (outcome.status === 'completed') this.finish(id, 'completed', { message: 'done', step: outcome.globalStep, checkpoint: outcome.checkpoint });
    else if (outcome.status === 'stopped') this.finish(id, 'stopped', { message: outcome.reason, step: outcome.globalStep }, { error: outcome.reason });
    else if (this.closing) this.finish(id, 'interrupted', { message: `the server shut down; checkpoint written at step ${outcome.globalStep}`, step: outcome.globalStep });
    else this.finish(id, 'cancelled', { message: `cancelled; checkpoint written at step ${outcome.globalStep}`, step: outcome.globalStep });
  }

  private finish(id: string, status: JobStatus, data: Record<string, unknown>, update: JobUpdate = {}): void {
    const job = this.running.get(id);
    if (!job) return;
    this.running.delete(id);
    void job.worker.terminate();
    this.setStatus(id, status, data, { ...update, ...(FINISHED.includes(status) && { finishedAt: now() }) });
    job.settle();
    this.schedule();
  }

  /** Store a worker's training event, keep the job row current, and pass it on to listeners. */
  private record(id: string, event: JobEvent): void {
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
        this.store.insertMetric(id, event);
        break;
      case 'eval':
        update = { heldOutLoss: event.heldOutLoss };
        this.store.insertMetric(id, event);
        break;
      case 'checkpoint':
        this.store.insertCheckpoint(id, event);
        break;
    }
    this.append(id, type, data, update);
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
