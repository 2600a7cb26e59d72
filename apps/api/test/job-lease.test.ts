import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServerConfig } from '../src/config.ts';
import { LEASE_FILE, LeaseHeldError, acquireJobLease } from '../src/redis/job-lease.ts';
import { removeTempDirs, tempDir } from './helpers.ts';

afterAll(removeTempDirs);

// The job-directory lease of the Redis backend's workers: the second lock, after BullMQ's, that keeps two workers
// from training one job when the first worker is alive but lost its BullMQ lock.
describe('job-directory lease', () => {
  it('a live holder keeps it: a second worker waits, then gives up with an error naming the holder', async () => {
    const dir = await tempDir('unilab-lease-');
    // A lease long enough for the holder's renewals (every leaseMs / 3) to land in it on a busy machine.
    const first = await acquireJobLease(dir, 'w1', { leaseMs: 600, maxWaitMs: 10_000 });
    const error = await acquireJobLease(dir, 'w2', { leaseMs: 600, maxWaitMs: 300 }).catch((err: Error) => err);
    expect(error).toBeInstanceOf(LeaseHeldError);
    expect((error as Error).message).toMatch(/leased by worker w1, which still renews it/);
    await first.release();
    const second = await acquireJobLease(dir, 'w2', { leaseMs: 600, maxWaitMs: 300 });
    expect(second.tookOverFrom).toBeNull();
    await second.release();
  });

  it('a dead holder\'s lease (no renewal for leaseMs) is taken over, and the old holder, if it was only cut off, learns it lost', async () => {
    const dir = await tempDir('unilab-lease-');
    // A worker killed with kill -9 left its lease behind.
    await writeFile(join(dir, LEASE_FILE), JSON.stringify({ worker: 'w1', token: 'dead', renewals: 3 }));
    const taker = await acquireJobLease(dir, 'w2', { leaseMs: 60, maxWaitMs: 1000 });
    expect(taker.tookOverFrom).toBe('w1');
    expect(JSON.parse(await readFile(join(dir, LEASE_FILE), 'utf8')).worker).toBe('w2');

    // The taker was cut off meanwhile and a third worker took the lease: the taker's next renewal says it lost.
    await writeFile(join(dir, LEASE_FILE), JSON.stringify({ worker: 'w3', token: 'other', renewals: 0 }));
    await expect(Promise.race([taker.lost.then(() => 'lost'), new Promise((r) => setTimeout(() => r('kept'), 1000))])).resolves.toBe('lost');
    // Releasing a lost lease leaves the new holder's file alone.
    await taker.release();
    expect(JSON.parse(await readFile(join(dir, LEASE_FILE), 'utf8')).worker).toBe('w3');
  });
});

describe('--redis', () => {
  it('refuses what is not a redis:// URL, naming the setting', async () => {
    for (const redis of ['localhost:6379', 'http://127.0.0.1:6379', 'redis://'])
      await expect(loadServerConfig({ overrides: { redis } })).rejects.toThrow(/config\.server\.redis: expected a Redis URL/);
    expect((await loadServerConfig({ env: { UNILAB_REDIS_URL: 'redis://10.0.0.5:6379/2' } })).redis).toBe('redis://10.0.0.5:6379/2');
    expect((await loadServerConfig({})).redis).toBeUndefined();
  });
});
