import { randomUUID } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A lease on a job's directory, the second of two locks that keep two workers from training one job at once. The
 * first is BullMQ's job lock (one worker holds an active job, renewing its lock in Redis). It can lapse while its
 * worker still trains: a worker cut off from Redis, or whose event loop stalled past lockDuration, has its job moved
 * back to the queue and taken by another. The lease lives beside the checkpoints, on the shared filesystem that both
 * workers write: its holder renews it (rewrites it with a higher count) every `leaseMs / 3`, and stops training the
 * moment a renewal finds the file is no longer its own. A newcomer that finds a lease waits until it has seen no
 * renewal for `leaseMs` by its own clock (so machines need not agree on the time), then takes it over.
 */
export interface LeaseHolder {
  worker: string;
  token: string;
  renewals: number;
}

export class LeaseHeldError extends Error {}

export const LEASE_FILE = 'worker.lease';

export interface JobLease {
  /** Resolves when the lease turns out to have been taken over (the holder must stop training). */
  readonly lost: Promise<void>;
  /** The worker whose lease was found stale and taken over, if any. */
  readonly tookOverFrom: string | null;
  release(): Promise<void>;
}

const read = async (path: string): Promise<LeaseHolder | null> => {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LeaseHolder;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // A lease half-written by a holder that died mid-write (writes go through rename, so only a foreign tool) is stale.
    return { worker: '(unreadable lease)', token: 'unreadable', renewals: -1 };
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Take the lease on `dir` for `worker`, waiting at most `maxWaitMs` for a live holder to stop (it stops within about
 * one BullMQ lockDuration once its job lock has lapsed).
 */
export async function acquireJobLease(dir: string, worker: string, options: { leaseMs: number; maxWaitMs: number }): Promise<JobLease> {
  const path = join(dir, LEASE_FILE);
  const mine: LeaseHolder = { worker, token: randomUUID(), renewals: 0 };
  const write = async (holder: LeaseHolder) => {
    const tmp = `${path}.${holder.token}.tmp`;
    await writeFile(tmp, JSON.stringify(holder));
    await rename(tmp, path);
  };
  let tookOverFrom: string | null = null;
  const started = Date.now();
  for (;;) {
    try {
      await writeFile(path, JSON.stringify(mine), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const seen = await read(path);
    await sleep(options.leaseMs);
    const now = await read(path);
    if (now === null) continue;
    if (seen !== null && now.token === seen.token && now.renewals === seen.renewals) {
      await write(mine);
      tookOverFrom = now.worker;
      break;
    }
    if (Date.now() - started > options.maxWaitMs)
      throw new LeaseHeldError(`${dir} is leased by worker ${now.worker}, which still renews it after ${Math.round((Date.now() - started) / 1000)} s; not training the job twice`);
  }

  let resolveLost = () => {};
  const lost = new Promise<void>((r) => (resolveLost = r));
  let released = false;
  const renew = async () => {
    if (released) return;
    const current = await read(path);
    if (current?.token !== mine.token) {
      released = true;
      resolveLost();
      return;
    }
    mine.renewals++;
    await write(mine);
  };
  // The renewal in flight, if any: release waits for it, or its write would bring the lease back after the unlink.
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renew().catch(() => {});
  }, Math.max(50, Math.floor(options.leaseMs / 3)));
  return {
    lost,
    tookOverFrom,
    async release() {
      clearInterval(timer);
      await renewing;
      if (released) return;
      released = true;
      if ((await read(path))?.token === mine.token) await unlink(path).catch(() => {});
    },
  };
}
