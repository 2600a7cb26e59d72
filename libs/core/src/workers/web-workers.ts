import type { WorkerRuntime } from './worker-runtime.ts';

/**
 * Web Worker adapter (Deno; browsers with cross-origin isolation for SharedArrayBuffer). A Web Worker cannot be
 * unreferenced, so the pool stops idle workers itself (`workersKeepProcessAlive`).
 */
export const webWorkers: WorkerRuntime = {
  name: 'web',
  workersKeepProcessAlive: true,
  spawn(entry, onError) {
    const worker = new Worker(new URL(`./${entry}.web.js`, import.meta.url), { type: 'module' });
    worker.onerror = (event) => {
      event.preventDefault();
      onError(event.error ?? event.message);
    };
    return {
      post: (message) => worker.postMessage(message),
      terminate: () => worker.terminate(),
    };
  },
  hardwareThreads: () => (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,
  async enableRelaxedSimd() {
    // Deno and current browsers have relaxed SIMD on by default.
  },
  env(name) {
    const deno = (globalThis as { Deno?: { env: { get(n: string): string | undefined } } }).Deno;
    try {
      return deno?.env.get(name);
    } catch {
      return undefined; // no --allow-env
    }
  },
};
