import { serve } from '@hono/node-server';
import Database from 'better-sqlite3';
import type { Server } from 'node:http';
import { Worker } from 'node:worker_threads';
import type { Runtime } from '../server.ts';
import type { SqlDatabase } from '../sql.ts';
import type { FromWorker, WorkerHandle } from '../worker-protocol.ts';

/** Node adapter: @hono/node-server for HTTP, worker_threads for jobs, better-sqlite3 (v12; v13 crashes Node 20). */
export const nodeRuntime: Runtime = {
  name: 'node',

  async openDatabase(path) {
    const db = new Database(path);
    const statements = new Map<string, Database.Statement>();
    const prepared = (sql: string) => {
      let s = statements.get(sql);
      if (!s) statements.set(sql, (s = db.prepare(sql)));
      return s;
    };
    const store: SqlDatabase = {
      exec: (sql) => void db.exec(sql),
      run: (sql, params = []) => ({ changes: prepared(sql).run(...params).changes }),
      get: <T>(sql: string, params: readonly unknown[] = []) => prepared(sql).get(...params) as T | undefined,
      all: <T>(sql: string, params: readonly unknown[] = []) => prepared(sql).all(...params) as T[],
      close: () => db.close(),
    };
    return store;
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
