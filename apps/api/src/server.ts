import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createConfiguredRegistry } from '@unilab/runner';
import { createApp } from './app.ts';
import { CompletionService } from './completions.ts';
import { assertSafeToServe, type ServerConfig } from './config.ts';
import { EvalStore } from './eval-store.ts';
import { EvalService } from './evals.ts';
import { JobManager } from './jobs.ts';
import type { SqlDatabase } from './sql.ts';
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
  const store = new JobStore(await runtime.openDatabase(join(config.dataDir, 'unilab.db')));
  const jobs = new JobManager(store, () => runtime.startWorker(), config);
  const completions = new CompletionService(() => runtime.startWorker(), config.pluginConfig);
  const evals = new EvalService(new EvalStore(store.db), () => runtime.startWorker(), config.pluginConfig);
  const app = createApp({ config, store, jobs, completions, evals, registry, runtime: runtime.name });
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
        store.close();
      })()),
  };
}

/** Start on the runtime this process runs on; only that runtime's adapter is loaded. */
export async function startServerHere(config: ServerConfig): Promise<RunningServer> {
  const runtime: Runtime = 'Deno' in globalThis ? (await import('./deno/runtime.ts')).denoRuntime : (await import('./node/runtime.ts')).nodeRuntime;
  return startServer(config, runtime);
}
