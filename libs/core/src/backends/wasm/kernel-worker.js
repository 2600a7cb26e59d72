// The loop of one kernel worker: plain JavaScript (workers load it without a TypeScript loader), web-standard APIs
// only. thread-pool.ts is the other side of the protocol; the word layout below must match its constants.
//
// The worker instantiates the main thread's compiled module over the shared memory, moves its stack pointer to the
// stack the main thread allocated for it, then sleeps on the pool's generation word. Each wake-up runs `pool_work`
// (claim units of the current task until none is left) and notifies the task's `done` word. It never allocates.

/** Control block words (Int32). */
const GENERATION = 0;
const QUIT = 1;
const FAILED = 2;
const WORKSPACE = 4; // + 2 * worker index: [pointer, length in f32]
/** Task words (Int32), see kernels-rs/src/pool.rs. */
const TASK_DONE = 1;
/** Milliseconds a worker keeps polling for the next task before it sleeps (tasks of a step come in quick runs). */
const SPIN_MS = 0.05;
/** A sleeping worker looks again after this long even without a wake-up (a lost wake-up only costs parallelism). */
const WAIT_MS = 20;

/**
 * @param {{ module: WebAssembly.Module, memory: WebAssembly.Memory, control: number, task: number,
 *           index: number, stackTop: number }} init
 */
export function runKernelWorker(init) {
  const { module, memory, control, task, index, stackTop } = init;
  const { exports } = new WebAssembly.Instance(module, { env: { memory } });
  exports.__stack_pointer.value = stackTop;
  // Views of the first pages stay valid when the shared memory grows.
  const words = new Int32Array(memory.buffer, control, 64);
  const taskWords = new Int32Array(memory.buffer, task, 32);
  let seen = Atomics.load(words, GENERATION);
  for (;;) {
    const until = performance.now() + SPIN_MS;
    while (Atomics.load(words, GENERATION) === seen && performance.now() < until);
    Atomics.wait(words, GENERATION, seen, WAIT_MS);
    if (Atomics.load(words, GENERATION) === seen) continue;
    seen = Atomics.load(words, GENERATION);
    if (Atomics.load(words, QUIT) !== 0) return;
    const workspace = Atomics.load(words, WORKSPACE + 2 * index) >>> 0;
    const length = Atomics.load(words, WORKSPACE + 2 * index + 1) >>> 0;
    try {
      if (exports.pool_work(task, workspace, length) > 0) Atomics.notify(taskWords, TASK_DONE);
    } catch (err) {
      // A unit this worker claimed will never be done: tell the main thread, which is waiting for it.
      console.error(`unilab wasm kernel worker ${index}:`, err);
      Atomics.store(words, FAILED, 1);
      Atomics.notify(taskWords, TASK_DONE);
      return;
    }
  }
}
