import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { WaitingError, Worker, type Job } from 'bullmq';
import type { AlignmentJobOutcome } from '@unilab/eval';
import type { JobOutcome } from '@unilab/runner';
import type { JobStatus, JobUpdate } from '../store.ts';
import type { FromWorker, WorkerHandle } from '../worker-protocol.ts';
import { REDIS_KEYS, connectRedis, reachable } from './connection.ts';
import { appendToLog, type LogEntry } from './event-log.ts';
import { acquireJobLease, type JobLease } from './job-lease.ts';
import { onThisMachine, type TrainJob } from './train-job.ts';

export interface QueueWorkerOptions {
  redisUrl: string;
  /** The shared directory (checkpoints, corpora) as mounted on this machine. */
  dataDir: string;
  /** This worker's own directory (its temporary files, its identity); nothing a job needs later is kept here. */
  scratchDir: string;
  /** Jobs trained at once, each in a thread of its own. */
  concurrency: number;
  /** Shown in each job's events (which worker ran it); unique per worker. */
  name: string;
  /** The configuration whose plugins the job threads load (null: the repository's plugins only). */
  pluginConfig: string | null;
  /**
   * BullMQ's job lock: a worker that has not renewed it for lockDurationMs (killed, cut off) has lost the job, and the
   * next stalled check (every stalledIntervalMs, on any worker) puts it back in the queue, at most maxStalledCount
   * times before BullMQ fails it. Defaults are BullMQ's (30 s, 30 s, 1); tests shorten them.
   */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
  /** The job-directory lease (job-lease.ts): renewed every leaseMs / 3, taken over after leaseMs unrenewed (10 s). */
  leaseMs?: number;
}

export interface RunningQueueWorker {
  name: string;
  /** Ask running jobs to checkpoint and stop, put them back in the queue for another worker, and disconnect. */
  close(): Promise<void>;
}

const DEFAULT_TIMINGS = { lockDurationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 1, leaseMs: 10_000 };

/** Why a running job's signal was aborted. */
type StopReason = 'cancel' | 'lost' | 'shutdown';

/**
 * A worker process of the Redis backend: takes training jobs from the BullMQ queue and trains each in a thread
 * (the same worker threads and protocol as the embedded backend), writing its events to the shared event log.
 * The main thread only moves messages, so BullMQ's lock renewals are never starved by training.
 */
export async function startQueueWorker(given: QueueWorkerOptions, startThread: () => WorkerHandle): Promise<RunningQueueWorker> {
  const options = { ...DEFAULT_TIMINGS, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) } as Required<QueueWorkerOptions>;
  await prepareScratch(options);
  const redis = connectRedis(options.redisUrl);
  await reachable(redis, options.redisUrl, '--redis');
  const subscriber = connectRedis(options.redisUrl);
  const ctx: WorkerContext = { options, redis, graceMs: new Map(), log: (entry) => appendToLog(redis, entry), startThread };

  const workerConnection = connectRedis(options.redisUrl);
  const worker = new Worker<TrainJob>(REDIS_KEYS.queue, (job, token, signal) => train(ctx, job, token, signal!), {
    connection: workerConnection,
    name: options.name,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    maxStalledCount: options.maxStalledCount,
  });
  worker.on('lockRenewalFailed', (ids) => {
    for (const id of ids) worker.cancelJob(id, 'lost');
  });
  // BullMQ reports lock renewals it could not make and lost connections here; the events above act on them.
  worker.on('error', (err) => console.error(`unilab worker ${options.name}: ${err.message}`));
  await listenForCancels(subscriber, worker, ctx.graceMs);
  await worker.waitUntilReady();

  let closed: Promise<void> | null = null;
  return {
    name: options.name,
    close: () =>
      (closed ??= (async () => {
        worker.cancelAllJobs('shutdown');
        await worker.close();
        workerConnection.disconnect();
        subscriber.disconnect();
        await redis.quit();
      })()),
  };
}

/** What a worker's job handling shares: its options, its Redis connection, cancels' grace periods, its event log. */
interface WorkerContext {
  options: Required<QueueWorkerOptions>;
  redis: ReturnType<typeof connectRedis>;
  /** Per job id: how long a cancel waits for a step boundary before the thread is stopped (from the cancel message). */
  graceMs: Map<string, number>;
  log: (entry: LogEntry) => Promise<unknown>;
  startThread: () => WorkerHandle;
}

/** How a job's thread ended (its last message), or why it was not waited for. */
type ThreadEnd = Exclude<FromWorker, { type: 'event' }> | { type: 'crashed'; message: string } | { type: 'stopped-hard' };

/** The worker's own directory: its temporary files and threads' stay on its own disk, not on the shared one. */
async function prepareScratch(options: Required<QueueWorkerOptions>): Promise<void> {
  await mkdir(options.scratchDir, { recursive: true });
  process.env.TMPDIR = options.scratchDir;
  await writeFile(join(options.scratchDir, 'worker.json'), JSON.stringify({ name: options.name, pid: process.pid, host: hostname(), dataDir: options.dataDir, startedAt: now() }, null, 2));
}

/** The API's cancels, published on the control channel: each stops its job if this worker runs it. */
async function listenForCancels(subscriber: ReturnType<typeof connectRedis>, worker: Worker<TrainJob>, graceMs: Map<string, number>): Promise<void> {
  await subscriber.subscribe(REDIS_KEYS.control);
  subscriber.on('message', (_channel, text) => {
    const message = JSON.parse(text) as { type: 'cancel'; id: string; graceMs: number };
    if (message.type !== 'cancel') return;
    graceMs.set(message.id, message.graceMs);
    if (!worker.cancelJob(message.id, 'cancel')) graceMs.delete(message.id);
  });
}

/** One run of a job: claim it, train it in a thread, and record how it ended. */
async function train(ctx: WorkerContext, job: Job<TrainJob>, token: string | undefined, signal: AbortSignal): Promise<void> {
  const id = job.data.id;
  const { runSpec, outDir } = onThisMachine(job.data, ctx.options.dataDir);
  const begun = await beginRun(ctx, id, outDir);
  if (!begun) return;
  const { run, lease, resume } = begun;
  const thread = ctx.startThread();
  const watched = watchThread(ctx, thread, id, signal, lease);
  thread.post({ type: 'train', jobId: id, spec: runSpec, outDir, resume, pluginConfig: ctx.options.pluginConfig });
  const { end, stopReason, lastStep } = await watched.ended;
  await thread.terminate();
  await watched.logged();
  await lease.release();
  ctx.graceMs.delete(id);
  await recordEnd(ctx, job, token, run, end, stopReason, lastStep);
}

/**
 * Count the run, note this worker as the job's, take the job directory's lease and log that it runs (resumed, and
 * from which worker); null when the job was cancelled before it could run again.
 */
async function beginRun(ctx: WorkerContext, id: string, outDir: string): Promise<{ run: number; lease: JobLease; resume: boolean } | null> {
  const { options, redis } = ctx;
  const run = await redis.hincrby(REDIS_KEYS.runs, id, 1);
  const previousWorker = await redis.hget(REDIS_KEYS.worker, id);
  await redis.hset(REDIS_KEYS.worker, id, options.name);
  if (await redis.sismember(REDIS_KEYS.cancelled, id)) {
    await endRun(ctx, id, run, 'cancelled', { message: 'cancelled before it ran again' });
    return null;
  }
  await mkdir(outDir, { recursive: true });
  const lease = await acquireJobLease(outDir, options.name, { leaseMs: options.leaseMs, maxWaitMs: 4 * options.lockDurationMs + 2 * options.leaseMs });
  const resume = run > 1;
  const takenOver = resume && previousWorker !== null && previousWorker !== options.name;
  await ctx.log({
    op: 'append',
    id,
    type: 'status',
    data: {
      status: 'running',
      message: resume ? `resuming from the newest intact checkpoint on worker ${options.name}${takenOver ? ` (worker ${previousWorker} ran it before)` : ''}` : `started on worker ${options.name}`,
      resume,
      worker: options.name,
      run,
      ...(takenOver && { previousWorker }),
      ...(lease.tookOverFrom && { leaseTakenOverFrom: lease.tookOverFrom }),
    },
    update: { status: 'running', runs: run, ...(run === 1 && { startedAt: now() }) },
  });
  return { run, lease, resume };
}

/**
 * Pass the thread's events on to the log and wait for its end. An aborted signal (cancel, lost lock, shutdown) or a
 * lost lease asks the thread to stop at its next step boundary; one that does not within the grace is stopped hard.
 */
function watchThread(ctx: WorkerContext, thread: WorkerHandle, id: string, signal: AbortSignal, lease: JobLease) {
  let pending: Promise<unknown> = Promise.resolve();
  let lastStep = 0;
  let stopReason: StopReason | null = null;
  let hardStop: ReturnType<typeof setTimeout> | undefined;
  const ended = new Promise<ThreadEnd>((resolve) => {
    thread.onMessage((message) => {
      if (message.type === 'event') {
        if (message.event.type === 'step') lastStep = message.event.globalStep;
        pending = ctx.log({ op: 'train', id, event: message.event }).catch((err) => console.error(`unilab worker: event of job ${id} not logged: ${(err as Error).message}`));
      } else resolve(message);
    });
    thread.onCrash((err) => resolve({ type: 'crashed', message: err.message }));
    const stop = (reason: StopReason) => {
      if (stopReason !== null) return;
      stopReason = reason;
      thread.post({ type: 'cancel' });
      const grace = reason === 'cancel' ? (ctx.graceMs.get(id) ?? 60_000) : ctx.options.lockDurationMs;
      hardStop = setTimeout(() => resolve({ type: 'stopped-hard' }), grace);
    };
    // A cancel that came while the job was being set up has aborted the signal already.
    if (signal.aborted) stop(signal.reason as StopReason);
    else signal.addEventListener('abort', () => stop(signal.reason as StopReason));
    void lease.lost.then(() => stop('lost'));
  });
  return {
    ended: ended.then((end) => {
      clearTimeout(hardStop);
      return { end, stopReason: stopReason as StopReason | null, lastStep };
    }),
    /** Resolves when the last event passed on is in the log. */
    logged: () => pending,
  };
}

/** Log how the run ended: lost to another worker, back in the queue at shutdown, or its outcome. */
async function recordEnd(ctx: WorkerContext, job: Job<TrainJob>, token: string | undefined, run: number, end: ThreadEnd, stopReason: StopReason | null, lastStep: number): Promise<void> {
  const { options } = ctx;
  const id = job.data.id;
  if (stopReason === 'lost') {
    // Another worker holds the job now (BullMQ's lock lapsed, or the lease was taken over); it records the rest.
    await ctx.log({ op: 'append', id, type: 'worker-lost', data: { worker: options.name, step: lastStep, message: `worker ${options.name} lost the job at step ${lastStep} and stopped` } });
    return;
  }
  if (stopReason === 'shutdown' && (end.type === 'stopped-hard' || (end.type === 'done' && end.outcome.status === 'cancelled'))) {
    await ctx.log({ op: 'append', id, type: 'status', data: { status: 'queued', worker: options.name, message: `worker ${options.name} shut down at step ${lastStep}; back in the queue`, requestedBy: 'server' }, update: { status: 'queued', queued: true } });
    await job.moveToWait(token);
    throw new WaitingError();
  }
  if (end.type === 'done') await endWith(ctx, id, run, end.outcome);
  else if (end.type === 'failed')
    await endRun(ctx, id, run, 'failed', { message: end.message, step: end.step, phase: end.phase, op: end.op }, { error: end.message, errorStep: end.step, errorPhase: end.phase, errorOp: end.op });
  else if (end.type === 'crashed') await endRun(ctx, id, run, 'failed', { message: `the job's thread died: ${end.message}` }, { error: `the job's thread died: ${end.message}` });
  else if (end.type === 'stopped-hard')
    await endRun(ctx, id, run, 'cancelled', { message: `cancelled: the job did not reach a step boundary in time, so its thread was stopped at step ${lastStep}; a resume continues from its newest intact checkpoint`, step: lastStep, stoppedHard: true });
}

/** Record the end of a job's run once, whoever else (an API that saw BullMQ fail it) may try too. */
async function endRun(ctx: WorkerContext, id: string, run: number, status: JobStatus, data: Record<string, unknown>, update: JobUpdate = {}): Promise<void> {
  const first = await ctx.redis.set(`${REDIS_KEYS.endedPrefix}${id}:${run}`, ctx.options.name, 'EX', 7 * 24 * 3600, 'NX');
  if (first === null) return;
  const finished = ['completed', 'stopped', 'failed', 'cancelled'].includes(status);
  await ctx.log({ op: 'append', id, type: 'status', data: { status, worker: ctx.options.name, ...data }, update: { ...update, status, ...(finished && { finishedAt: now() }) } });
}

async function endWith(ctx: WorkerContext, id: string, run: number, outcome: JobOutcome | AlignmentJobOutcome): Promise<void> {
  if (outcome.status === 'completed') await endRun(ctx, id, run, 'completed', { message: 'done', step: outcome.globalStep, checkpoint: outcome.checkpoint });
  else if (outcome.status === 'stopped') await endRun(ctx, id, run, 'stopped', { message: outcome.reason, step: outcome.globalStep }, { error: outcome.reason });
  else await endRun(ctx, id, run, 'cancelled', { message: `cancelled; checkpoint written at step ${outcome.globalStep}`, step: outcome.globalStep });
}

const now = () => new Date().toISOString();
