// Node worker_threads entry of the WASM kernel worker (the loop is ../backends/wasm/kernel-worker.js).
import { parentPort } from 'node:worker_threads';
import { runKernelWorker } from '../backends/wasm/kernel-worker.js';

parentPort.once('message', (init) => runKernelWorker(init));
