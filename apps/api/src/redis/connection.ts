import { Redis } from 'ioredis';

/**
 * One Redis deployment serves one unilab cluster: the BullMQ queue of training jobs, the shared event log every API
 * instance reads its job store from, and a few keys of per-job control state. Their names, in one place.
 */
export const REDIS_KEYS = {
  /** BullMQ's queue name (its own keys live under bull:unilab-train:*). */
  queue: 'unilab-train',
  /** The event log (a Redis stream): every change to every job, in order; API instances replay it into their store. */
  log: 'unilab:log',
  /** Pub/sub channel from API instances to workers (a running job's cancel). */
  control: 'unilab:control',
  /** Hash job id → times a worker started it (the second start on is a resume). */
  runs: 'unilab:runs',
  /** Hash job id → the worker that last took it. */
  worker: 'unilab:worker',
  /** Set of job ids whose cancel was asked for; a worker that picks one up ends it cancelled without training. */
  cancelled: 'unilab:cancelled',
  /** `${prefix}${id}:${run}`: set once by whoever records that run's end, so two observers never record it twice. */
  endedPrefix: 'unilab:ended:',
} as const;

/**
 * A connection as BullMQ requires for blocking commands (maxRetriesPerRequest null: a command waits for a
 * reconnect instead of failing after a few tries). Each blocking reader (a stream follower, a BullMQ worker, a
 * subscriber) needs a connection of its own; whoever opens one closes it (BullMQ leaves connections it was given open).
 * While Redis is unreachable ioredis reconnects by itself; one line every 10 s says so.
 */
export function connectRedis(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  let said = 0;
  redis.on('error', (err) => {
    if (Date.now() - said < 10_000) return;
    said = Date.now();
    const where = new URL(url);
    console.error(`unilab: Redis at ${where.host} unreachable (${err.message}); reconnecting`);
  });
  return redis;
}

/** Whoever cannot reach Redis at start refuses to start (naming the setting), rather than run and do nothing. */
export async function reachable(redis: Redis, url: string, setting: string, timeoutMs = 10_000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([redis.ping(), new Promise((_, fail) => (timer = setTimeout(() => fail(new Error(`no answer in ${timeoutMs / 1000} s`)), timeoutMs)))]);
  } catch (err) {
    redis.disconnect();
    throw new Error(`${setting}: cannot reach Redis at ${new URL(url).host} (${(err as Error).message}); start redis-server there or fix the URL`);
  } finally {
    clearTimeout(timer);
  }
}
