// Node worker bootstrap. Node 20 does not apply the parent's tsx loader to worker threads, so a TypeScript entry
// (running from sources) needs tsx registered here, in the worker, before it is imported.
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) (await import('tsx/esm/api')).register();
await import(workerData.entry);
