export { createApp, type AppContext } from './app.ts';
export { startServer, startServerHere, startQueueWorkerHere, type Runtime, type RunningServer, type Listener } from './server.ts';
export type { QueueWorkerOptions, RunningQueueWorker } from './redis/queue-worker.ts';
export { loadServerConfig, isLoopback, assertSafeToServe, machineMemory, redisUrl, type ServerConfig } from './config.ts';
export { ApiClient, ApiRequestError, jobLogEvent, readServerSentEvents, type JobLogEvent, type QueueEvent, type ServerSentEvent, type JobView } from './client.ts';
