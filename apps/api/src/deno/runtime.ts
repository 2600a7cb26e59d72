import type { Runtime } from '../server.ts';
import { type DatabaseSyncConstructor, wrapDatabaseSync } from '../database-sync.ts';
import type { FromWorker, WorkerHandle } from '../worker-protocol.ts';

/** The parts of Deno's API this adapter uses (the project type-checks without Deno's own types). */
declare const Deno: {
  serve(
    options: { hostname: string; port: number; onListen(addr: { port: number }): void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void> };
};

/** Deno adapter: Deno.serve for HTTP, Web Workers for jobs, node:sqlite (built into Deno 2.9) for the store. */
export const denoRuntime: Runtime = {
  name: 'deno',

  async openDatabase(path) {
    const { DatabaseSync } = (await import('node:sqlite' as string)) as { DatabaseSync: DatabaseSyncConstructor };
    return wrapDatabaseSync(new DatabaseSync(path));
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
