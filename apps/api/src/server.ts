import { existsSync } from 'node:fs';
import { mkdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createConfiguredRegistry } from '@unilab/runner';
import { createApp } from './app.ts';
import { CompletionService } from './completions.ts';
import { assertSafeToServe, type ServerConfig } from './config.ts';
import { EvalStore } from './eval-store.ts';
import { EvalService } from './evals.ts';
import type { JobQueue } from './job-queue.ts';
import type { QueueWorkerOptions, RunningQueueWorker } from './redis/queue-worker.ts';
import { JobManager } from './jobs.ts';
import { SqliteUnavailableError, type SqlDatabase } from './sql.ts';
import { JobStore } from './store.ts';
import type { WorkerHandle } from './worker-protocol.ts';

/** What a runtime supplies: its SQLite driver, its workers and its HTTP listener. One small adapter per runtime. */
export interface Runtime {
  name: 'node' | 'deno';
  openDatabase(path: string): Promise<SqlDatabase>;
  startWorker(): WorkerHandle;
  listen(fetch: (request: Request) => Response | Promise<Response>, options: { host: string; port: number }): Promise<Listener>;
}

export interface Listener {
  port: number;
  close(): Promise<void>;
}

export interface RunningServer {
  url: string;
  port: number;
  config: ServerConfig;
  /** Checkpoint and stop running jobs (they resume on the next start), end event streams, stop listening. */
  close(): Promise<void>;
}

/** Wire the store, the job manager and the app together on a runtime, recover jobs of the last run, and listen. */
export async function startServer(config: ServerConfig, runtime: Runtime): Promise<RunningServer> {
  assertSafeToServe(config);
  await mkdir(config.dataDir, { recursive: true });
  const registry = await createConfiguredRegistry(config.pluginConfig);
  const fileStore = await openJobStore(runtime, join(config.dataDir, 'unilab.db'));
  // Job directories were resolved inside the data directory's real path (admission.ts).
  const dataDir = await realpath(config.dataDir);
  const { store, jobs } = config.redis ? await openRedisQueue(runtime, config.redis, dataDir, config) : { store: fileStore, jobs: new JobManager(fileStore, () => runtime.startWorker(), { ...config, dataDir }) };
  const completions = new CompletionService(() => runtime.startWorker(), config.pluginConfig);
  const evals = new EvalService(new EvalStore(fileStore.db), () => runtime.startWorker(), config.pluginConfig);
  const app = createApp({ config, store, jobs, completions, evals, registry, runtime: runtime.name, dataDirRealPath: dataDir, fileExists: existsSync });
  jobs.recover(config.autoResume);
  evals.recover();
  const listener = await runtime.listen(app.fetch, config);
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closed: Promise<void> | null = null;
  return {
    url: `http://${host}:${listener.port}`,
    port: listener.port,
    config,
    close: () =>
      (closed ??= (async () => {
        await jobs.close();
        await completions.close();
        await evals.close();
        await listener.close();
        if (store !== fileStore) store.close();
        fileStore.close();
      })()),
  };
}

/**
 * The Redis backend: the jobs' state is the cluster's event log in Redis, replayed into a store in this process's
 * memory (every API instance keeps its own). Evaluations stay in the data directory's SQLite file, run by this
 * process. Loaded only when a Redis URL is given, so the embedded default never loads BullMQ.
 */
async function openRedisQueue(runtime: Runtime, url: string, dataDir: string, config: ServerConfig): Promise<{ store: JobStore; jobs: JobQueue }> {
  const { RedisJobQueue } = await import('./redis/redis-job-queue.ts');
  const store = new JobStore(await runtime.openDatabase(':memory:'));
  return { store, jobs: await RedisJobQueue.open(store, { redisUrl: url, dataDir, cancelGraceMs: config.cancelGraceMs }) };
}

export class JobStoreDamagedError extends Error {}

/**
 * Open the store, refusing a damaged one: a truncated or overwritten file would otherwise either fail on the first
 * request or, emptied, start over as a new store that silently lists no jobs while their files remain.
 */
async function openJobStore(runtime: Runtime, path: string): Promise<JobStore> {
  const damaged = (detail: string) =>
    new JobStoreDamagedError(
      `the job store ${path} is damaged (${detail}); refusing to start on it, since it would lose or hide its jobs. ` +
        'Restore it from a backup, or move it away to start with an empty store (the jobs\' directories stay where they are)',
    );
  // SQLite writes its header the moment it creates a store, so an existing empty file was a store once.
  if ((await stat(path).catch(() => null))?.size === 0) throw damaged('it is an empty file');
  let db: SqlDatabase | undefined;
  try {
    db = await runtime.openDatabase(path);
    const problems = db.all<{ integrity_check: string }>('PRAGMA integrity_check(5)').map((r) => r.integrity_check).filter((r) => r !== 'ok');
    if (problems.length > 0) throw damaged(`integrity check: ${problems.join('; ')}`);
  } catch (err) {
    db?.close();
    throw err instanceof JobStoreDamagedError || err instanceof SqliteUnavailableError ? err : damaged((err as Error).message);
  }
  return new JobStore(db);
}

/** Start on the runtime this process runs on; only that runtime's adapter is loaded. */
export async function startServerHere(config: ServerConfig): Promise<RunningServer> {
  const runtime: Runtime = 'Deno' in globalThis ? (await import('./deno/runtime.ts')).denoRuntime : (await import('./node/runtime.ts')).nodeRuntime;
  return startServer(config, runtime);
}

/**
 * A worker of the Redis backend (`unilab worker`) on Node: BullMQ in this process, jobs in worker_threads. Loaded
 * only when asked for, like the Redis queue.
 */
export async function startQueueWorkerHere(options: QueueWorkerOptions): Promise<RunningQueueWorker> {
  if ('Deno' in globalThis) throw new Error('unilab worker runs on Node (BullMQ and worker_threads); start it with node, not deno');
  const [{ startQueueWorker }, { nodeRuntime }] = await Promise.all([import('./redis/queue-worker.ts'), import('./node/runtime.ts')]);
  return startQueueWorker(options, () => nodeRuntime.startWorker());
}
