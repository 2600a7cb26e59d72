/**
 * The one small interface the WASM backend's thread pool needs from its runtime: start a worker from an ES module
 * URL, post it one message, stop it. Node (worker_threads) and Web Workers (Deno, browsers) each implement it in their
 * own adapter file; nothing else in the core knows which runtime it runs on.
 */
export interface KernelWorker {
  /** Send a structured-cloneable message (a WebAssembly.Module and a shared WebAssembly.Memory included). */
  post(message: unknown): void;
  terminate(): void;
}

export interface WorkerRuntime {
  readonly name: 'node' | 'web';
  /** Start `entry` (a file next to this one) as a worker; `onError` hears of an exception the worker did not catch. */
  spawn(entry: WorkerEntry, onError: (error: unknown) => void): KernelWorker;
  /**
   * True when a live worker keeps the process from exiting (Web Workers cannot be unreferenced); the pool then stops
   * idle workers itself so that a finished program exits.
   */
  readonly workersKeepProcessAlive: boolean;
  /** Logical CPUs available to this process. */
  hardwareThreads(): number;
  /** Make relaxed SIMD available if the engine has it behind a flag (Node 20); a no-op elsewhere. */
  enableRelaxedSimd(): Promise<void>;
  /** An environment variable (undefined when unset or not readable). */
  env(name: string): string | undefined;
}

/** The worker scripts (plain JavaScript, so Node's worker_threads load them without a TypeScript loader). */
export type WorkerEntry = 'kernel-worker';

let cached: Promise<WorkerRuntime> | undefined;

/** The adapter for the runtime this process runs on (Deno and browsers: Web Workers; Node: worker_threads). */
export function workerRuntime(): Promise<WorkerRuntime> {
  cached ??= detect();
  return cached;
}

async function detect(): Promise<WorkerRuntime> {
  const g = globalThis as { Deno?: unknown; process?: { versions?: { node?: string } } };
  if (g.Deno === undefined && g.process?.versions?.node) return (await import('./node-workers.ts')).nodeWorkers;
  return (await import('./web-workers.ts')).webWorkers;
}
