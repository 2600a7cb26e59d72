import type { Redis } from 'ioredis';
import type { AlignmentJobEvent } from '@unilab/eval';
import type { JobEvent } from '@unilab/runner';
import { loadRunSpec } from '../admitted-spec.ts';
import { storeJobEvent } from '../job-event-log.ts';
import { OutDirTakenError, type JobStore, type JobUpdate, type StoredEvent } from '../store.ts';
import { REDIS_KEYS } from './connection.ts';

/**
 * The cluster's event log: one Redis stream holding every change to every job in the order it happened, written by
 * API instances (submit, cancel, resume, delete) and by workers (training events, the end of a run). It is the job
 * state that survives any process: each API instance replays it into a job store of its own (in memory) on start
 * and then follows it, so every instance answers the same and streams every worker's events over SSE.
 *
 * A stream rather than pub/sub, because a subscriber that is down misses pub/sub messages while a stream keeps them
 * (an API restarted mid-sweep replays what happened meanwhile); rather than BullMQ's own QueueEvents, because those
 * are trimmed to a fixed length and carry BullMQ's lifecycle, not a job's training log. The entries are applied in
 * stream order, so an event's sequence number (the SSE id) is the same on every instance and Last-Event-ID resumes
 * a stream on any of them.
 */
export type LogEntry =
  /** `runSpec` is the admitted spec (admitted-spec.ts); a log written by an older API holds the legacy form, loaded as such. */
  | { op: 'insert'; job: { id: string; name: string; spec: unknown; runSpec: unknown; outDir: string; totalSteps: number; stageCount: number } }
  /** A status change or another event the queue itself writes, with the job row's update. */
  | { op: 'append'; id: string; type: string; data: Record<string, unknown>; update?: JobUpdate }
  /** A training event a worker's runner reported. */
  | { op: 'train'; id: string; event: JobEvent | AlignmentJobEvent }
  | { op: 'delete'; id: string };

/** Append an entry; returns its stream id. */
export async function appendToLog(redis: Redis, entry: LogEntry): Promise<string> {
  return (await redis.xadd(REDIS_KEYS.log, '*', 'entry', JSON.stringify(entry)))!;
}

/** Apply one entry to a store; returns the job and the event stored (null for an insert or a delete). */
export function applyLogEntry(store: JobStore, entry: LogEntry): { id: string; event: StoredEvent | null; deleted: boolean } {
  switch (entry.op) {
    case 'insert':
      store.insertJob({ ...entry.job, runSpec: loadRunSpec(entry.job.runSpec) });
      return { id: entry.job.id, event: null, deleted: false };
    case 'append':
      if (!store.getJob(entry.id)) return { id: entry.id, event: null, deleted: false };
      return { id: entry.id, event: store.appendEvent(entry.id, entry.type, entry.data, entry.update), deleted: false };
    case 'train':
      if (!store.getJob(entry.id)) return { id: entry.id, event: null, deleted: false };
      return { id: entry.id, event: storeJobEvent(store, entry.id, entry.event), deleted: false };
    case 'delete':
      store.deleteJob(entry.id);
      return { id: entry.id, event: null, deleted: true };
  }
}

/** Stream ids are "<milliseconds>-<sequence>": compare them as that pair. */
export function streamIdAtLeast(id: string, target: string): boolean {
  const [a, b] = id.split('-').map(BigInt);
  const [c, d] = target.split('-').map(BigInt);
  return a > c || (a === c && b >= d);
}

/**
 * Keeps a store current from the log: `replay` applies everything written so far, `follow` then applies new entries
 * as they come (a blocking read on a connection of its own), calling `onApplied` for each. `caughtUp` waits until an
 * entry this process wrote has been applied, so a route can answer with the job as it stands after its change.
 */
export class EventLogFollower {
  private lastId = '0-0';
  private waiters: { id: string; resolve(): void }[] = [];
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly reader: Redis,
    private readonly store: JobStore,
    private readonly onApplied: (applied: ReturnType<typeof applyLogEntry>) => void,
  ) {}

  async replay(): Promise<void> {
    for (;;) {
      const batch = await this.reader.xrange(REDIS_KEYS.log, `(${this.lastId}`, '+', 'COUNT', 1000);
      if (batch.length === 0) return;
      for (const [id, fields] of batch) this.apply(id, fields);
    }
  }

  follow(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        let result: [string, [string, string[]][]][] | null;
        try {
          result = (await this.reader.xread('COUNT', 1000, 'BLOCK', 0, 'STREAMS', REDIS_KEYS.log, this.lastId)) as typeof result;
        } catch (err) {
          if (this.stopped) return;
          console.error(`unilab api: reading the Redis event log failed (${(err as Error).message}); retrying`);
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        for (const [, entries] of result ?? []) for (const [id, fields] of entries) this.apply(id, fields);
      }
    })();
  }

  caughtUp(id: string): Promise<void> {
    if (streamIdAtLeast(this.lastId, id)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ id, resolve }));
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.reader.disconnect();
    await this.loop;
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  private apply(id: string, fields: string[]): void {
    this.lastId = id;
    const entry = JSON.parse(fields[fields.indexOf('entry') + 1]) as LogEntry;
    try {
      this.onApplied(applyLogEntry(this.store, entry));
    } catch (err) {
      // Two API instances admitted jobs into one directory at once: the later one is refused here, on every instance.
      if (!(err instanceof OutDirTakenError)) throw err;
      console.error(`unilab api: job ${entry.op === 'insert' ? entry.job.id : '?'} not recorded: ${err.message}`);
    }
    this.waiters = this.waiters.filter((w) => (streamIdAtLeast(id, w.id) ? (w.resolve(), false) : true));
  }
}
