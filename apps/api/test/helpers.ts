import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSotu } from '@unilab/data';
import { ApiClient, type ServerSentEvent } from '../src/client.ts';
import { loadServerConfig } from '../src/config.ts';
import { nodeRuntime } from '../src/node/runtime.ts';
import { startServer, type RunningServer } from '../src/server.ts';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
export const TOKEN = 'test-token-0123456789';

const created: string[] = [];

/** A fresh temporary directory, removed by removeTempDirs. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Remove the directories this test file made (after its servers have stopped). */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** A fresh data directory with a small real-text corpus: the first State of the Union addresses, cut short. */
export async function makeDataDir(): Promise<string> {
  const dir = await tempDir('unilab-api-');
  const corpus = join(dir, 'corpora', 'sotu-small');
  await mkdir(corpus, { recursive: true });
  const docs = (await readSotu()).slice(0, 6);
  await Promise.all(docs.map((d, i) => writeFile(join(corpus, `${i}.txt`), d.text.slice(0, 12_000))));
  return dir;
}

/** A tiny decoder job on the data dir's corpus (reference backend: small and independent of the WASM build). */
export function tinySpec(overrides: { name?: string; train?: Record<string, unknown>; model?: Record<string, unknown>; [key: string]: unknown } = {}) {
  const { train, model, ...rest } = overrides;
  return {
    name: 'tiny',
    seed: 7,
    backend: 'reference',
    data: { corpus: 'corpora/sotu-small', heldOutFraction: 0.2 },
    model: { architecture: 'decoder', config: { layers: 1, dModel: 16, heads: 2, ...model } },
    objective: { name: 'clm' },
    train: { steps: 12, batchSize: 4, seqLen: 16, lr: 3e-3, warmupSteps: 2, evalEvery: 0, evalBatches: 2, checkpointEvery: 4, ...train },
    samplePrompts: [],
    ...rest,
  };
}

/**
 * The real server on this process (Node adapter, worker_threads, better-sqlite3) on 127.0.0.1 and a free port;
 * `configFile` is a unilab.config.json (its plugins and server section).
 */
export async function startTestServer(dataDir: string, overrides: Record<string, unknown> = {}, configFile?: string): Promise<{ server: RunningServer; client: ApiClient }> {
  const config = await loadServerConfig({ file: configFile, overrides: { dataDir, port: 0, token: TOKEN, shutdownGraceMs: 2000, ...overrides } });
  const server = await startServer(config, nodeRuntime);
  return { server, client: new ApiClient(server.url, config.token) };
}

export interface FollowedEvent {
  id: number;
  type: string;
  data: Record<string, any>;
}

/** Every event of a job until it finishes, parsed. */
export async function followToEnd(client: ApiClient, id: string): Promise<FollowedEvent[]> {
  const events: FollowedEvent[] = [];
  await client.follow(id, (e: ServerSentEvent) => events.push({ id: Number(e.id), type: e.event, data: JSON.parse(e.data) }), { retries: 0 });
  return events;
}

/** Poll a job until `done` holds of it (or fail after `timeoutMs`). */
/** Follow a job's events until `stop` says so; returns the events seen. */
export async function followUntil(client: ApiClient, id: string, stop: (type: string, data: Record<string, any>) => boolean) {
  const controller = new AbortController();
  const seen: { type: string; data: Record<string, any> }[] = [];
  await client
    .follow(
      id,
      (e) => {
        const data = JSON.parse(e.data);
        seen.push({ type: e.event, data });
        if (stop(e.event, data)) controller.abort();
      },
      { signal: controller.signal, retries: 0 },
    )
    .catch((err) => {
      if (!controller.signal.aborted) throw err;
    });
  return seen;
}

export async function waitForJob<T extends { status: string }>(get: () => Promise<T>, done: (job: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await get();
    if (done(job)) return job;
    if (Date.now() > until) throw new Error(`timed out waiting; last state ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `unilab serve` as a child process (its own process group, so that kill -9 reaches the server and not just npx).
 * Resolves once it prints the URL it listens on.
 */
export async function spawnServer(command: string[], env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(command[0], command.slice(1), { cwd: REPO_ROOT, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${output}`)), 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with code ${code} before listening:\n${output}`));
    });
  });
  return { child, url, output: () => output };
}

/** Kill a spawned server's whole process group and wait until its leader is gone. */
export async function killServer(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid!, signal);
  } catch {
    return;
  }
  await exited;
}
