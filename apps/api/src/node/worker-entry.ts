import { parentPort } from 'node:worker_threads';
import { serveWorker } from '../worker.ts';
import type { ToWorker } from '../worker-protocol.ts';

/** Node worker entry: worker_threads' parentPort as the worker's message channel. */
const port = parentPort!;
serveWorker({
  post: (message) => port.postMessage(message),
  onMessage: (listener) => void port.on('message', (m: ToWorker) => listener(m)),
});
