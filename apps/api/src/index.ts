export { createApp, type AppContext } from './app.ts';
export { startServer, startServerHere, type Runtime, type RunningServer, type Listener } from './server.ts';
export { loadServerConfig, isLoopback, assertSafeToServe, machineMemory, type ServerConfig } from './config.ts';
export { ApiClient, ApiRequestError, readServerSentEvents, type ServerSentEvent, type JobView } from './client.ts';
