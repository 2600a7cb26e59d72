import type { Runtime } from '../server.ts';
import type { SqlDatabase, SqlValue } from '../sql.ts';
import type { FromWorker, WorkerHandle } from '../worker-protocol.ts';

/** The parts of Deno's API this adapter uses (the project type-checks without Deno's own types). */
declare const Deno: {
  serve(
    options: { hostname: string; port: number; onListen(addr: { port: number }): void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void> };
};

interface DatabaseSync {
  exec(sql: string): void;
  prepare(sql: string): {
    run(...params: SqlValue[]): { changes: number | bigint };
    get(...params: SqlValue[]): unknown;
    all(...params: SqlValue[]): unknown[];
  };
  close(): void;
}

/** Deno adapter: Deno.serve for HTTP, Web Workers for jobs, node:sqlite (built into Deno 2.9) for the store. */
export const denoRuntime: Runtime = {
  name: 'deno',

  async openDatabase(path) {
    const { DatabaseSync } = (await import('node:sqlite' as string)) as { DatabaseSync: new (path: string) => DatabaseSync };
    const db = new DatabaseSync(path);
    const statements = new Map<string, ReturnType<DatabaseSync['prepare']>>();
    const prepared = (sql: string) => {
      let s = statements.get(sql);
      if (!s) statements.set(sql, (s = db.prepare(sql)));
      return s;
    };
    const store: SqlDatabase = {
      exec: (sql) => db.exec(sql),
      run: (sql, params = []) => ({ changes: Number(prepared(sql).run(...params).changes) }),
      get: <T>(sql: string, params: readonly SqlValue[] = []) => prepared(sql).get(...params) as T | undefined,
      all: <T>(sql: string, params: readonly SqlValue[] = []) => prepared(sql).all(...params) as T[],
      close: () => db.close(),
    };
    return store;
  },

  startWorker() {
    const worker = new Worker(new URL('./worker-entry.ts', import.meta.url).href, { type: 'module' });
    let terminated = false;
    const handle: WorkerHandle = {
      post: (message) => worker.postMessage(message),
      onMessage: (listener) => worker.addEventListener('message', (e) => listener((e as MessageEvent<FromWorker>).data)),
      onCrash: (listener) =>
        worker.addEventListener('error', (e) => {
          e.preventDefault();
          if (!terminated) listener(new Error((e as ErrorEvent).message));
          terminated = true;
        }),
      async terminate() {
        terminated = true;
        worker.terminate();
      },
    };
    return handle;
  },

  listen(fetch, { host, port }) {
    return new Promise((resolve) => {
      const server = Deno.serve({ hostname: host, port, onListen: (addr) => resolve({ port: addr.port, close: () => server.shutdown() }) }, fetch);
    });
  },
};
