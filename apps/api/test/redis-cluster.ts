import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { ApiClient } from '../src/client.ts';
import { REPO_ROOT, TOKEN, spawnServer, tempDir } from './helpers.ts';

/**
 * A small cluster on this machine for the Redis backend's tests: a real redis-server on a free port with its files
 * in a temporary directory, `unilab serve --redis` processes, and `unilab worker` processes that share one data
 * directory (as machines would share a filesystem) with a scratch directory each.
 */

/** Whether redis-server can run here; CI (UNILAB_REQUIRE_REDIS=1, set by .ci/run after installing it) must have it. */
export function redisAvailable(): boolean {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
  if (!found && process.env.UNILAB_REQUIRE_REDIS === '1')
    throw new Error('UNILAB_REQUIRE_REDIS=1 but redis-server is not installed (scripts/install-redis-ci.sh installs Debian\'s redis-server)');
  if (!found) console.warn('redis tests skipped: redis-server is not installed (apt-get install redis-server; CI sets UNILAB_REQUIRE_REDIS=1)');
  return found;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startRedis(): Promise<{ url: string; child: ChildProcess }> {
  const dir = await tempDir('unilab-redis-');
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}:\n${output}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, child };
}

const CLI = ['npx', 'tsx', '--conditions=development', 'apps/cli/src/main.ts'];

/** Short BullMQ timings, so a killed worker's job is back in the queue within a few seconds. */
export const FAST_STALL = ['--lock-duration-ms', '2000', '--stalled-interval-ms', '1000', '--max-stalled', '3', '--lease-ms', '1500'];

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  scratch: string;
  output(): string;
}

export async function startWorker(redis: string, dataDir: string, name: string, ...flags: string[]): Promise<WorkerProcess> {
  const scratch = await tempDir(`unilab-scratch-${name}-`);
  const child = spawn(CLI[0], [...CLI.slice(1), 'worker', '--redis', redis, '--data-dir', dataDir, '--scratch', scratch, '--name', name, ...FAST_STALL, ...flags], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${name} did not start:\n${output}`)), 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('taking jobs from')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker ${name} exited with code ${code}:\n${output}`)));
  });
  return { name, child, scratch, output: () => output };
}

export async function startApi(redis: string, dataDir: string, port = 0): Promise<{ child: ChildProcess; url: string; client: ApiClient }> {
  const spawned = await spawnServer([...CLI, 'serve', '--data-dir', dataDir, '--port', String(port), '--redis', redis], { UNILAB_API_TOKEN: TOKEN });
  return { ...spawned, client: new ApiClient(spawned.url, TOKEN) };
}

/** `unilab <args>` as a child process; resolves with its exit code and output. */
export function runCli(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; output: string }> } {
  const child = spawn(CLI[0], [...CLI.slice(1), ...args], { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, done: new Promise((resolve) => child.once('exit', (code) => resolve({ code, output }))) };
}
