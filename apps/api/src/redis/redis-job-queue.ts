import { rm } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobAdmission } from '../admission.ts';
import type { JobListener, JobQueue } from '../job-queue.ts';
import { JobConflictError, JobNotFoundError } from '../jobs.ts';
import { FINISHED, OutDirTakenError, type JobRecord, type JobStatus, type JobStore, type JobUpdate } from '../store.ts';
import { REDIS_KEYS, connectRedis, reachable } from './connection.ts';
import { EventLogFollower, appendToLog, type applyLogEntry, type LogEntry } from './event-log.ts';
import type { AdmittedSpec } from '../admitted-spec.ts';
import type { TrainJob } from './train-job.ts';

export interface RedisJobQueueOptions {
  redisUrl: string;
  /** The shared data directory's real path on this machine; job directories lie inside it. */
  dataDir: string;
  /** How long a cancelled job has to reach a step boundary before its worker stops its thread. */
  cancelGraceMs: number;
}

/** BullMQ keeps failed jobs (their reason) for a week; finished ones live on in the event log. */
const JOB_OPTIONS = { attempts: 1, removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 } };

/**
 * The Redis backend of the HTTP API: jobs wait in a BullMQ queue and run on `unilab worker` processes on any
 * machine; their state is the shared event log (event-log.ts), which this instance replays into `store` (a store of
 * its own, in memory) and follows, so the routes read it as they read the embedded store. Every change this
 * instance makes goes through the log too, and a route answers once its own entry has come back.
 */
export class RedisJobQueue implements JobQueue {
  readonly backend = 'redis';
  private readonly listeners = new Map<string, Set<JobListener>>();

  private constructor(
    private readonly store: JobStore,
    private readonly redis: Redis,
    private readonly follower: EventLogFollower,
    private readonly queue: Queue<TrainJob>,
    private readonly queueEvents: QueueEvents,
    /** The connections handed to BullMQ, which it leaves open. */
    private readonly connections: Redis[],
    private readonly options: RedisJobQueueOptions,
  ) {}

  /** Connect, replay the event log into `store`, and follow it. */
  static async open(store: JobStore, options: RedisJobQueueOptions): Promise<RedisJobQueue> {
    const redis = connectRedis(options.redisUrl);
    await reachable(redis, options.redisUrl, 'config.server.redis');
    let self: RedisJobQueue | null = null;
    const follower = new EventLogFollower(connectRedis(options.redisUrl), store, (applied) => self?.notify(applied));
    await follower.replay();
    const connections = [connectRedis(options.redisUrl), connectRedis(options.redisUrl)];
    const queue = new Queue<TrainJob>(REDIS_KEYS.queue, { connection: connections[0] });
    const queueEvents = new QueueEvents(REDIS_KEYS.queue, { connection: connections[1] });
    self = new RedisJobQueue(store, redis, follower, queue, queueEvents, connections, options);
    follower.follow();
    // BullMQ failed a job itself: a worker's processor threw, or the job stalled more than maxStalledCount times.
    queueEvents.on('failed', ({ jobId, failedReason }) => void self!.recordQueueFailure(jobId, failedReason));
    await queueEvents.waitUntilReady();
    return self;
  }

  get runningCount(): number {
    return this.store.countWithStatus('running');
  }

  async submit(id: string, spec: unknown, admitted: JobAdmission): Promise<JobRecord> {
    const owner = this.store.outDirOwner(admitted.outDir);
    if (owner) throw new OutDirTakenError(owner);
    await this.write({
      op: 'insert',
      job: { id, name: admitted.name, spec, runSpec: admitted.runSpec, outDir: admitted.outDir, totalSteps: admitted.totalSteps, stageCount: admitted.stageCount },
    });
    await this.write(this.status(id, 'queued', { message: 'submitted' }));
    await this.enqueue(id, admitted.runSpec, admitted.outDir);
    return this.require(id);
  }

  /**
   * A waiting job is taken out of the queue and ends cancelled; a running one is told (over pub/sub) to stop after
   * its current step, and its worker stops its thread after cancelGraceMs. The request is also kept in Redis, so a
   * worker that takes the job meanwhile ends it instead of training it.
   */
  async cancel(id: string): Promise<JobRecord> {
    const job = this.require(id);
    if (FINISHED.includes(job.status)) throw new JobConflictError(`job ${id} is already ${job.status}`);
    await this.redis.sadd(REDIS_KEYS.cancelled, id);
    if (job.status !== 'running' && (await this.takeOutOfQueue(id))) {
      await this.write(this.status(id, 'cancelled', { message: 'cancelled before it ran' }, { finishedAt: now() }));
      return this.require(id);
    }
    const grace = this.options.cancelGraceMs;
    await this.write({ op: 'append', id, type: 'cancel-requested', data: { message: `stopping after the current step (its worker stops it in ${grace} ms if it does not get there)` }, update: { cancelRequestedAt: now() } });
    await this.redis.publish(REDIS_KEYS.control, JSON.stringify({ type: 'cancel', id, graceMs: grace }));
    return this.require(id);
  }

  /** Queue an interrupted, cancelled or failed job again; whichever worker takes it continues from its newest intact checkpoint. */
  async resume(id: string): Promise<JobRecord> {
    const job = this.require(id);
    if (!['interrupted', 'cancelled', 'failed'].includes(job.status))
      throw new JobConflictError(`job ${id} is ${job.status}; only interrupted, cancelled or failed jobs can be resumed`);
    if (!(await this.takeOutOfQueue(id))) throw new JobConflictError(`job ${id} is still held by a worker; try again once it has stopped`);
    await this.redis.srem(REDIS_KEYS.cancelled, id);
    await this.write(
      this.status(
        id,
        'queued',
        { message: `resume requested (was ${job.status})`, requestedBy: 'client' },
        { queued: true, finishedAt: null, error: null, errorStep: null, errorPhase: null, errorOp: null, cancelRequestedAt: null },
      ),
    );
    await this.enqueue(id, job.runSpec, job.outDir);
    return this.require(id);
  }

  checkpointSkipped(id: string, data: { step: number | null; path: string; reason: string; by: string }): void {
    void this.write({ op: 'append', id, type: 'checkpoint-skipped', data }).catch((err) => console.error(`unilab api: ${(err as Error).message}`));
  }

  async remove(id: string): Promise<void> {
    const job = this.require(id);
    if (job.status === 'running' || job.status === 'queued') throw new JobConflictError(`job ${id} is ${job.status}; cancel it first, then delete it`);
    const inside = relative(this.options.dataDir, job.outDir);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) throw new Error(`job ${id}'s directory is not inside the data directory; not removing it`);
    await this.takeOutOfQueue(id);
    await this.write({ op: 'delete', id });
    await this.redis.multi().hdel(REDIS_KEYS.runs, id).hdel(REDIS_KEYS.worker, id).srem(REDIS_KEYS.cancelled, id).exec();
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
   * Workers, not this process, run the jobs, and BullMQ's stalled-job check recovers the jobs of workers that died.
   * What is left to settle after an API restart: a job logged as queued whose BullMQ job is missing (the API died
   * between the two writes) is queued again, and one BullMQ failed while no API listened is recorded as failed.
   */
  recover(): void {
    void (async () => {
      for (const status of ['queued', 'running'] as const)
        for (const job of this.store.jobsWithStatus(status)) {
          const queued = await this.queue.getJob(job.id);
          if (!queued && status === 'queued') await this.enqueue(job.id, job.runSpec, job.outDir);
          else if (queued && (await queued.getState()) === 'failed') await this.recordQueueFailure(job.id, queued.failedReason);
        }
    })().catch((err) => console.error(`unilab api: settling the queue after a restart failed: ${(err as Error).message}`));
  }

  async close(): Promise<void> {
    await this.follower.close();
    await this.queueEvents.close();
    await this.queue.close();
    for (const connection of this.connections) connection.disconnect();
    await this.redis.quit();
    for (const set of this.listeners.values()) for (const listener of set) listener(null);
    this.listeners.clear();
  }

  private notify(applied: ReturnType<typeof applyLogEntry>): void {
    const set = this.listeners.get(applied.id);
    if (!set) return;
    if (applied.deleted) {
      for (const listener of set) listener(null);
      this.listeners.delete(applied.id);
    } else if (applied.event) for (const listener of set) listener(applied.event);
  }

  private async recordQueueFailure(id: string, reason: string): Promise<void> {
    const job = this.store.getJob(id);
    if (!job || FINISHED.includes(job.status)) return;
    const first = await this.redis.set(`${REDIS_KEYS.endedPrefix}${id}:${job.runs}`, 'api', 'EX', 7 * 24 * 3600, 'NX');
    if (first === null) return;
    const message = `the queue failed the job: ${reason}`;
    await this.write(this.status(id, 'failed', { message, step: job.step }, { error: message, finishedAt: now() }));
  }

  /** Remove the job's BullMQ entry unless a worker holds it; true when none is left. */
  private async takeOutOfQueue(id: string): Promise<boolean> {
    const queued = await this.queue.getJob(id);
    if (!queued) return true;
    try {
      await queued.remove();
      return true;
    } catch {
      return false;
    }
  }

  private async enqueue(id: string, runSpec: AdmittedSpec, outDir: string): Promise<void> {
    await this.queue.add('train', { id, runSpec, outDir, dataDir: this.options.dataDir }, { ...JOB_OPTIONS, jobId: id });
  }

  private status(id: string, status: JobStatus, data: Record<string, unknown>, update: JobUpdate = {}): LogEntry {
    return { op: 'append', id, type: 'status', data: { status, ...data }, update: { ...update, status } };
  }

  /** Write to the log and wait until this instance's store has applied it. */
  private async write(entry: LogEntry): Promise<void> {
    await this.follower.caughtUp(await appendToLog(this.redis, entry));
  }

  private require(id: string): JobRecord {
    const job = this.store.getJob(id);
    if (!job) throw new JobNotFoundError(id);
    return job;
  }
}

const now = () => new Date().toISOString();
