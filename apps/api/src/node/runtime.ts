import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import { Worker } from 'node:worker_threads';
import type { Runtime } from '../server.ts';
import type { FromWorker, WorkerHandle } from '../worker-protocol.ts';
import { loadSqliteDriver, type SqliteDriver } from './sqlite-driver.ts';

/** Loaded on the first database opened, so that commands which never open one never need a driver. */
let sqliteDriver: Promise<SqliteDriver> | undefined;

/** Node adapter: @hono/node-server for HTTP, worker_threads for jobs, better-sqlite3 or node:sqlite (sqlite-driver.ts). */
export const nodeRuntime: Runtime = {
  name: 'node',

  async openDatabase(path) {
    sqliteDriver ??= loadSqliteDriver();
    return (await sqliteDriver).open(path);
  },

  startWorker() {
    // Running from TypeScript sources, the worker needs the tsx loader (registered by worker-boot.mjs) and the
    // `development` condition that resolves workspace packages to their sources.
    const execArgv = process.execArgv.includes('--conditions=development') ? process.execArgv : [...process.execArgv, '--conditions=development'];
    const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
      // From sources the entry is TypeScript; the built CLI (scripts/build-cli.mjs) puts worker-entry.js beside itself.
      workerData: { entry: new URL(import.meta.url.endsWith('.ts') ? './worker-entry.ts' : './worker-entry.js', import.meta.url).href },
      execArgv,
    });
    let terminated = false;
    const crashListeners: ((error: Error) => void)[] = [];
    const crash = (error: Error) => {
      if (!terminated) for (const l of crashListeners) l(error);
      terminated = true;
    };
    worker.on('error', crash);
    worker.on('exit', (code) => crash(new Error(`worker exited with code ${code}`)));
    const handle: WorkerHandle = {
      post: (message) => worker.postMessage(message),
      onMessage: (listener) => void worker.on('message', (m: FromWorker) => listener(m)),
      onCrash: (listener) => void crashListeners.push(listener),
      async terminate() {
        terminated = true;
        await worker.terminate();
      },
    };
    return handle;
  },

  listen(fetch, { host, port }) {
    return new Promise((resolve) => {
      const server = serve({ fetch, hostname: host, port }, (info) =>
        resolve({
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              (server as Server).closeAllConnections();
            }),
        }),
      );
    });
  },
};
