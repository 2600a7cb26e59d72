import type { JobAdmission } from './admission.ts';
import type { JobRecord, StoredEvent } from './store.ts';

/** A listener of one job's events; `null` means the server is closing and the stream should end. */
export type JobListener = (event: StoredEvent | null) => void;

/**
 * Where jobs wait and run, as the HTTP API sees it. Two backends: the embedded one (jobs.ts: SQLite and worker
 * threads of this process, the default) and the Redis one (redis/redis-job-queue.ts: BullMQ, worker processes on any
 * machine). Both keep the job store that the routes read current, and both answer with the job as it stands after
 * the change; the Redis one only after its own write has come back through the shared event log, hence the promise.
 */
export interface JobQueue {
  /** "embedded" or "redis", reported by /healthz. */
  readonly backend: 'embedded' | 'redis';
  /** Jobs training now (on this server, or on every worker of the Redis queue). */
  readonly runningCount: number;
  submit(id: string, spec: unknown, admitted: JobAdmission): JobRecord | Promise<JobRecord>;
  cancel(id: string): JobRecord | Promise<JobRecord>;
  resume(id: string): JobRecord | Promise<JobRecord>;
  /** A damaged checkpoint was passed over (by completions: the runner reports its own from the worker). */
  checkpointSkipped(id: string, data: { step: number | null; path: string; reason: string; by: string }): void;
  remove(id: string): Promise<void>;
  subscribe(id: string, listener: JobListener): () => void;
  /** After a restart: settle what the previous server left running, then start what waits. */
  recover(autoResume: boolean): void;
  close(): Promise<void>;
}
