import { workerRuntime, type KernelWorker, type WorkerRuntime } from '../../workers/worker-runtime.ts';
import type { WasmKernels } from './kernels-loader.ts';

/**
 * Runs the parallel kernels (matmul, attention, cross-entropy, elementwise blocks) on the main thread and
 * `threads - 1` workers that share the kernels' memory (kernels-rs/src/pool.rs describes the work sharing;
 * kernel-worker.js is the worker's loop). Each worker instantiates the kernels through their wasm-bindgen glue, which
 * gives it a stack; the pool only schedules. The Backend API is synchronous, so `run` blocks the main thread (Atomics.wait) until every unit is done;
 * the main thread runs units itself meanwhile, so a worker that is slow or still starting costs time, never
 * correctness, and results are the same bits for any number of threads.
 *
 * Workers start lazily at the first parallel task and, where a live worker would keep the process alive (Web
 * Workers), stop again after IDLE_MS without work, so a finished program exits; `close()` stops them at once. A
 * stopping worker frees its stack and returns by itself (the pool never terminates a worker that may be inside the
 * kernels: it could hold the heap's lock); workers of a new start wait until the old ones have gone, since they take
 * the same workspaces.
 */

/** Control block words (Int32); kernel-worker.js has the same constants. */
const GENERATION = 0;
/** Workers started under an earlier epoch stop. */
const EPOCH = 1;
/** Set by a worker whose kernel threw (a bug): the unit it claimed will never be done. */
const FAILED = 2;
/** Workers that have stopped (or never started), counted by themselves once they are out of the kernels for good. */
const EXITED = 3;
const WORKSPACE = 4; // + 2 * worker index: [pointer, length in f32]
const CONTROL_WORDS = 64;
const MAX_THREADS = (CONTROL_WORDS - WORKSPACE) / 2;
/** Task words (Int32), kernels-rs/src/pool.rs. The claim word is tag << 20 | next unit (CLOSED between tasks). */
const CLAIM = 0;
const DONE = 1;
const UNITS = 2;
const OP = 3;
const ARGS = 4;
const TASK_WORDS = 32;
const CLOSED = 0xf_ffff;
const TAGS = 0xfff;
/**
 * Stack of each worker's instance, taken from the kernels' heap by the glue's start function (a multiple of 64 KiB, as
 * the glue requires); the main instance's is the module's own, 256 KiB.
 */
const WORKER_STACK_BYTES = 256 * 1024;
/** How long a start (or close) waits for the workers of an earlier start to stop. */
const EXIT_WAIT_MS = 10_000;
const IDLE_MS = 300;
/** Loads of `done` before the main thread sleeps on it (workers usually finish within microseconds of it). */
const SPIN = 2000;
/**
 * The main thread sleeps on `done` at most this long before looking again. Seen under load on Node 20: a worker's
 * Atomics.notify after its last unit did not wake the main thread, though `done` had reached the unit count (a lost
 * wake-up, about one task in a thousand); an unbounded wait then hung the process.
 */
const WAIT_MS = 1;

export const OP_MATMUL = 1;
export const OP_ATTENTION_FORWARD = 2;
export const OP_ATTENTION_BACKWARD = 3;
export const OP_CROSS_ENTROPY = 4;
export const OP_MAP = 5;
export const OP_MATMUL_FUSED = 6;

export class ThreadPool {
  private readonly control: number;
  private readonly task: number;
  private readonly words: Int32Array;
  private readonly taskInts: Int32Array;
  private readonly taskFloats: Float32Array;
  /** Workspace of each thread, main thread first: pointer and length in f32. */
  private readonly workspaces: Array<{ ptr: number; len: number }>;
  private workers: KernelWorker[] = [];
  /** Stopped workers not yet known to have exited. */
  private stopping: KernelWorker[] = [];
  /** Workers spawned so far (each counts itself in EXITED when it stops). */
  private spawned = 0;
  /** Tag of the current task in the claim word (tells a late worker's claim on an earlier task apart). */
  private tag = 0;
  private lastUse = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  private constructor(
    private readonly kernels: WasmKernels,
    private readonly runtime: WorkerRuntime,
    readonly threads: number,
  ) {
    this.control = kernels.allocI32(CONTROL_WORDS);
    this.task = kernels.allocI32(TASK_WORDS);
    const buffer = kernels.memory.buffer;
    this.words = new Int32Array(buffer, this.control, CONTROL_WORDS).fill(0);
    this.taskInts = new Int32Array(buffer, this.task, TASK_WORDS).fill(0);
    this.taskFloats = new Float32Array(buffer, this.task, TASK_WORDS);
    this.taskInts[CLAIM] = CLOSED;
    this.workspaces = Array.from({ length: threads }, () => ({ ptr: 0, len: 0 }));
  }

  static async create(kernels: WasmKernels, threads: number): Promise<ThreadPool> {
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS)
      throw new RangeError(`wasm backend: threads must be an integer in [1, ${MAX_THREADS}], got ${threads}`);
    return new ThreadPool(kernels, await workerRuntime(), threads);
  }

  /** Grow every thread's workspace to at least `floats` f32 (allocating may grow memory: views are made after). */
  ensureWorkspace(floats: number): void {
    this.workspaces.forEach((ws, i) => {
      if (ws.len >= floats) return;
      if (ws.len > 0) this.kernels.freeF32(ws.ptr, ws.len);
      ws.len = 0; // stays consistent if the allocation below throws
      ws.ptr = this.kernels.allocF32(floats);
      ws.len = floats;
      if (i > 0) {
        Atomics.store(this.words, WORKSPACE + 2 * (i - 1), ws.ptr | 0);
        Atomics.store(this.words, WORKSPACE + 2 * (i - 1) + 1, floats);
      }
    });
  }

  /**
   * Run `units` units of kernel `op` with the given arguments (integers and pointers first, then f32 values, as the
   * op's #[repr(C)] struct in kernels-rs declares them). Returns when all are done.
   */
  run(op: number, units: number, ints: readonly number[], floats: readonly number[] = []): void {
    if (this.closed) throw new Error('wasm backend: the thread pool was closed');
    if (units === 0) return;
    if (units >= CLOSED) throw new RangeError(`wasm backend: a task of ${units} units is more than the pool can count`);
    const t = this.taskInts;
    t[OP] = op;
    t[UNITS] = units;
    ints.forEach((v, i) => (t[ARGS + i] = v));
    floats.forEach((v, i) => (this.taskFloats[ARGS + ints.length + i] = v));
    Atomics.store(t, DONE, 0);
    this.tag = (this.tag + 1) & TAGS;
    Atomics.store(t, CLAIM, this.tag << 20); // publishes the task: unit 0 is next
    if (units > 1 && this.threads > 1) {
      this.startWorkers();
      Atomics.add(this.words, GENERATION, 1);
      Atomics.notify(this.words, GENERATION);
    }
    const main = this.workspaces[0];
    this.kernels.exports.pool_work(this.task, main.ptr, main.len);
    for (let spin = 0; Atomics.load(t, DONE) < units; spin++) {
      if (spin < SPIN) continue;
      if (Atomics.load(this.words, FAILED) !== 0) {
        this.close();
        throw new Error('wasm backend: a kernel worker failed (its error is printed above); the backend cannot continue');
      }
      Atomics.wait(t, DONE, Atomics.load(t, DONE), WAIT_MS);
    }
    Atomics.store(t, CLAIM, (this.tag << 20) | CLOSED);
    if (this.workers.length > 0) this.touch();
  }

  /** Tell the workers to stop (a later parallel task starts new ones unless the pool is closed). */
  stopWorkers(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.workers.length === 0) return;
    Atomics.add(this.words, EPOCH, 1);
    Atomics.add(this.words, GENERATION, 1);
    Atomics.notify(this.words, GENERATION);
    this.stopping.push(...this.workers);
    this.workers = [];
  }

  /**
   * Stop the workers and release the pool's memory; the pool cannot run tasks afterwards. Workspaces and the task
   * block go back to the heap only once every worker has stopped (one that has not could still read them).
   */
  close(): void {
    if (this.closed) return;
    this.stopWorkers();
    this.closed = true;
    if (!this.awaitStopped()) return;
    for (const ws of this.workspaces) if (ws.len > 0) this.kernels.freeF32(ws.ptr, ws.len);
    this.kernels.freeF32(this.task, TASK_WORDS);
    // The control block stays allocated: it is a few words, and a stopped worker's last act was to count itself in it.
  }

  /** Wait (at most EXIT_WAIT_MS) until every worker spawned so far has stopped; true when they have. */
  private awaitStopped(): boolean {
    const deadline = performance.now() + EXIT_WAIT_MS;
    for (let exited = Atomics.load(this.words, EXITED); exited < this.spawned; exited = Atomics.load(this.words, EXITED)) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.words, EXITED, exited, Math.min(left, WAIT_MS));
    }
    for (const w of this.stopping) w.terminate(); // already returned; lets a Web Worker's handle go
    this.stopping = [];
    return true;
  }

  private startWorkers(): void {
    if (this.workers.length > 0) return;
    // Workers of an earlier start take the same workspaces: they must be gone first (they normally left long ago).
    if (!this.awaitStopped())
      throw new Error(`wasm backend: kernel workers stopped ${EXIT_WAIT_MS} ms ago have not finished; cannot start new ones`);
    const epoch = Atomics.load(this.words, EPOCH);
    for (let i = 1; i < this.threads; i++) {
      // A worker that dies before claiming work only costs parallelism (the main thread runs every unit). The worker's
      // own loop never throws, so an error here means its entry never ran it: count it out for it.
      const worker = this.runtime.spawn('kernel-worker', (error) => {
        console.error('unilab: a wasm kernel worker stopped:', error);
        Atomics.add(this.words, EXITED, 1);
      });
      worker.post({
        glueUrl: this.kernels.glueUrl,
        module: this.kernels.module,
        memory: this.kernels.memory,
        control: this.control,
        task: this.task,
        index: i - 1,
        epoch,
        stackBytes: WORKER_STACK_BYTES,
      });
      this.spawned++;
      this.workers.push(worker);
    }
  }

  /** Where idle workers keep the process alive, stop them after IDLE_MS without a task. */
  private touch(): void {
    if (!this.runtime.workersKeepProcessAlive) return;
    this.lastUse = performance.now();
    if (this.idleTimer !== undefined) return;
    const check = () => {
      const idle = performance.now() - this.lastUse;
      if (idle >= IDLE_MS) this.stopWorkers();
      else this.idleTimer = setTimeout(check, IDLE_MS - idle);
    };
    this.idleTimer = setTimeout(check, IDLE_MS);
  }
}
