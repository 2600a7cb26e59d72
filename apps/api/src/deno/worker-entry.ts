import { serveWorker } from '../worker.ts';
import type { FromWorker, ToWorker } from '../worker-protocol.ts';

/** Deno worker entry: the Web Worker global scope as the worker's message channel. */
const scope = globalThis as unknown as {
  postMessage(message: FromWorker): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<ToWorker>) => void): void;
};
serveWorker({
  post: (message) => scope.postMessage(message),
  onMessage: (listener) => scope.addEventListener('message', (e) => listener(e.data)),
});
