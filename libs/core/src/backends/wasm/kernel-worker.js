// The loop of one kernel worker: plain JavaScript (workers load it without a TypeScript loader), web-standard APIs
// only. thread-pool.ts is the other side of the protocol; the word layout below must match its constants.
//
// The worker imports the build's wasm-bindgen glue and instantiates the main thread's compiled module over the shared
// memory with the glue's `initSync`, whose start function gives this thread its own stack and thread-local block
// (taken from the kernels' heap). It then sleeps on the pool's generation word. Each wake-up runs `pool_work` (claim
// units of the current task until none is left) and notifies the task's `done` word. When the pool's epoch moves on
// it frees its stack (`__wbindgen_thread_destroy`), counts itself out and returns; it does the same after an error,
// so `runKernelWorker` never rejects.

/** Control block words (Int32). */
const GENERATION = 0;
const EPOCH = 1;
const FAILED = 2;
const EXITED = 3;
const WORKSPACE = 4; // + 2 * worker index: [pointer, length in f32]
/** Task words (Int32), see kernels-rs/src/pool.rs. */
const TASK_DONE = 1;
/** Milliseconds a worker keeps polling for the next task before it sleeps (tasks of a step come in quick runs). */
const SPIN_MS = 0.05;
/** A sleeping worker looks again after this long even without a wake-up (a lost wake-up only costs parallelism). */
const WAIT_MS = 20;

/**
 * @param {{ glueUrl: string, module: WebAssembly.Module, memory: WebAssembly.Memory, control: number, task: number,
 *           index: number, epoch: number, stackBytes: number }} init
 */
export async function runKernelWorker(init) {
  const { glueUrl, module, memory, control, task, index, epoch, stackBytes } = init;
  // Views of the first pages stay valid when the shared memory grows.
  const words = new Int32Array(memory.buffer, control, 64);
  let instance;
  try {
    const glue = await import(glueUrl);
    instance = glue.initSync({ module, memory, thread_stack_size: stackBytes });
    serve(glue, words, new Int32Array(memory.buffer, task, 32), task, index, epoch);
  } catch (err) {
    // Failing to start only costs parallelism: the main thread runs every unit nobody claims.
    console.error(`unilab wasm kernel worker ${index} could not start:`, err);
  }
  try {
    // Out of pool_work for good: the stack and thread-local block go back to the heap.
    instance?.__wbindgen_thread_destroy();
  } catch (err) {
    console.error(`unilab wasm kernel worker ${index}: freeing its stack failed:`, err);
  }
  // Last: from here the pool may hand this worker's workspace to a new one.
  Atomics.add(words, EXITED, 1);
  Atomics.notify(words, EXITED);
}

function serve(glue, words, taskWords, task, index, epoch) {
  let seen = Atomics.load(words, GENERATION);
  for (;;) {
    if (Atomics.load(words, EPOCH) !== epoch) return;
    const until = performance.now() + SPIN_MS;
    while (Atomics.load(words, GENERATION) === seen && performance.now() < until);
    Atomics.wait(words, GENERATION, seen, WAIT_MS);
    if (Atomics.load(words, GENERATION) === seen) continue;
    seen = Atomics.load(words, GENERATION);
    if (Atomics.load(words, EPOCH) !== epoch) return;
    const workspace = Atomics.load(words, WORKSPACE + 2 * index) >>> 0;
    const length = Atomics.load(words, WORKSPACE + 2 * index + 1) >>> 0;
    try {
      if (glue.pool_work(task, workspace, length) > 0) Atomics.notify(taskWords, TASK_DONE);
    } catch (err) {
      // A unit this worker claimed will never be done: tell the main thread, which is waiting for it.
      console.error(`unilab wasm kernel worker ${index}:`, err);
      Atomics.store(words, FAILED, 1);
      Atomics.notify(taskWords, TASK_DONE);
      return;
    }
  }
}
