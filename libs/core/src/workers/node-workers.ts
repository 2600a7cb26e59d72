import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { WorkerRuntime } from './worker-runtime.ts';

/**
 * Node adapter: worker_threads. Workers are unreferenced, so an idle pool never keeps the process alive, and Node
 * terminates them at exit.
 */
export const nodeWorkers: WorkerRuntime = {
  name: 'node',
  workersKeepProcessAlive: false,
  spawn(entry, onError) {
    const worker = new Worker(new URL(`./${entry}.node.js`, import.meta.url));
    worker.on('error', onError);
    worker.unref();
    return {
      post: (message) => worker.postMessage(message),
      terminate: () => void worker.terminate(),
    };
  },
  hardwareThreads: () => availableParallelism(),
  async enableRelaxedSimd() {
    // Node 20's V8 has relaxed SIMD behind a flag (on by default from Node 22). Flags must be set before compiling.
    const major = Number(process.versions.node.split('.')[0]);
    if (major < 22) setFlagsFromString('--experimental-wasm-relaxed-simd');
  },
  env: (name) => process.env[name],
};
