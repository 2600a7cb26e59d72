// Web Worker entry (Deno, browsers) of the WASM kernel worker (the loop is ../backends/wasm/kernel-worker.js).
import { runKernelWorker } from '../backends/wasm/kernel-worker.js';

self.onmessage = (event) => {
  runKernelWorker(event.data).finally(() => self.close());
};
