import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { SpecError, arrayOf, boolean, field, integer, object, optional, string, type Schema } from '@unilab/core';

/**
 * A bearer token as RFC 6750 allows it (token68): anything else could never arrive in an Authorization header, so
 * the server would refuse every request; better to refuse the token when the server starts.
 */
const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*$/;
const bearerToken: Schema<string> = {
  describe: 'a bearer token (letters, digits and - . _ ~ + /, then any = padding)',
  parse(value, path) {
    const token = string({ nonEmpty: true }).parse(value, path);
    if (!TOKEN68.test(token)) {
      // Say where, never what: the token is a secret.
      const bad = [...token].findIndex((ch) => !/[A-Za-z0-9._~+/=-]/.test(ch));
      const where = bad >= 0 ? `character ${bad + 1} of the token is not one of them` : '= may only pad its end';
      throw new SpecError(path, `expected ${bearerToken.describe}, which an Authorization: Bearer header can carry; ${where}`);
    }
    return token;
  },
};

/** A web origin as browsers send it in the Origin header: scheme://host[:port], nothing after. */
const webOrigin: Schema<string> = {
  describe: 'an origin (scheme://host[:port], e.g. http://localhost:5173)',
  parse(value, path) {
    const text = string({ nonEmpty: true }).parse(value, path);
    let origin: string | null = null;
    try {
      origin = new URL(text).origin;
    } catch {
      // not a URL: refused below
    }
    if (origin !== text) throw new SpecError(path, `expected ${webOrigin.describe}, got ${JSON.stringify(text)}`);
    return text;
  },
};

/** A host name a client may use to reach the server (the Host header without its port). */
const hostName: Schema<string> = {
  describe: 'a host name or address without a port (e.g. gpu-box.local)',
  parse(value, path) {
    const text = string({ nonEmpty: true }).parse(value, path);
    if (!/^[A-Za-z0-9.-]+$|^[0-9A-Fa-f:.]+$/.test(text)) throw new SpecError(path, `expected ${hostName.describe}, got ${JSON.stringify(text)}`);
    return text.toLowerCase();
  },
};

/** redis://[user:password@]host[:port][/db], or rediss:// for TLS. */
export const redisUrl: Schema<string> = {
  describe: 'a Redis URL (redis://host:6379 or rediss://host:6380)',
  parse(value, path) {
    const text = string({ nonEmpty: true }).parse(value, path);
    let url: URL | null = null;
    try {
      url = new URL(text);
    } catch {
      // not a URL: refused below
    }
    if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') throw new SpecError(path, `expected ${redisUrl.describe}, got ${JSON.stringify(text)}`);
    return text;
  },
};

/**
 * Server configuration: the `server` section of the project's configuration file (unilab.config.json, whose
 * `plugins` list every command reads), then environment variables, then command-line flags, each overriding the one
 * before. Validated with the same schema language as specs, so a bad setting names its field.
 */
const serverConfigSchema = object({
  /** Jobs, the SQLite store and user corpora live here; spec paths must stay inside it. */
  dataDir: field(string({ nonEmpty: true }), 'unilab-data'),
  host: field(string({ nonEmpty: true }), '127.0.0.1'),
  /** 0 picks a free port. */
  port: field(integer({ min: 0, max: 65535 }), 8787),
  /** Bearer token for every route that changes state or reads job data; required unless host is loopback. */
  token: optional(bearerToken),
  /**
   * Web origins besides the server's own whose pages may call the job routes (a dashboard on another port). Browsers
   * send every other origin's requests too, so those are refused (see cross-site.ts).
   */
  allowedOrigins: field(arrayOf(webOrigin), []),
  /** Host names besides the listening address under which the server may be reached (a DNS name, a proxy's). */
  allowedHosts: field(arrayOf(hostName), []),
  maxConcurrentJobs: field(integer({ min: 1, max: 256 }), 1),
  maxQueuedJobs: field(integer({ min: 0 }), 1000),
  /** Largest model (estimated from its config before anything is built). */
  maxParameters: field(integer({ min: 1 }), 100_000_000),
  /** Most optimizer steps of a job, counting every stage and the retries its gates allow. */
  maxStepsPerJob: field(integer({ min: 1 }), 1_000_000),
  /** Most tokens in one optimizer step (batchSize x seqLen x gradAccum), which bounds activation memory. */
  maxTokensPerStep: field(integer({ min: 1 }), 1 << 20),
  /** Most bytes of documents a job's shard stream may hold for shuffling (data.shardWindowBytes), per job. */
  maxShardWindowBytes: field(integer({ min: 4096 }), 256 << 20),
  /**
   * Most bytes a job may need to train, as its architecture estimates it (weights, gradients, AdamW moments and
   * activations at the spec's batch and sequence length; what `unilab describe` prints). Absent: half the memory of
   * the machine (or of its cgroup), shared among maxConcurrentJobs, since that many may train at once.
   */
  maxJobMemoryBytes: optional(integer({ min: 1 << 20 })),
  /** Admit architectures from plugin packages that cannot estimate their memory (no `footprint` hook): unbounded. */
  admitUnestimatedArchitectures: field(boolean(), false),
  /** A job the server died under this many times in a row (kill -9, out of memory) is failed instead of resumed. */
  maxInterruptedRuns: field(integer({ min: 1 }), 3),
  maxBodyBytes: field(integer({ min: 1024 }), 1 << 20),
  maxCompletionTokens: field(integer({ min: 1 }), 1024),
  /** Most tokens one completion request may ask for in all: prompts x n x max_tokens. */
  maxCompletionTokensPerRequest: field(integer({ min: 1 }), 8192),
  /** Most completion requests served at once (they take turns on the inference worker); beyond it 429. */
  maxCompletionRequests: field(integer({ min: 1 }), 16),
  /** On start, resume jobs the previous server left running (from their last checkpoint). */
  autoResume: field(boolean(), true),
  /** How long a shutdown waits for running jobs to checkpoint before stopping their workers. */
  shutdownGraceMs: field(integer({ min: 0 }), 5000),
  /** How long a cancelled job has to reach a step boundary (and checkpoint) before its worker is terminated. */
  cancelGraceMs: field(integer({ min: 0 }), 60_000),
  /**
   * A Redis URL (redis://host:6379): jobs go to a BullMQ queue that `unilab worker` processes on any machine take
   * from, and their state lives in Redis. Absent: the embedded queue (SQLite and this process's worker threads).
   */
  redis: optional(redisUrl),
});

export type ServerConfig = Omit<ReturnType<typeof serverConfigSchema.parse>, 'maxJobMemoryBytes'> & {
  maxJobMemoryBytes: number;
  /** The configuration file whose `plugins` the server and every worker load (null: the repository's plugins only). */
  pluginConfig: string | null;
};

const ENV: Record<string, keyof ServerConfig> = {
  UNILAB_DATA_DIR: 'dataDir',
  UNILAB_HOST: 'host',
  UNILAB_PORT: 'port',
  UNILAB_API_TOKEN: 'token',
  UNILAB_MAX_CONCURRENT_JOBS: 'maxConcurrentJobs',
  UNILAB_MAX_JOB_MEMORY_BYTES: 'maxJobMemoryBytes',
  /** Comma-separated. */
  UNILAB_ALLOWED_ORIGINS: 'allowedOrigins',
  UNILAB_ALLOWED_HOSTS: 'allowedHosts',
  UNILAB_REDIS_URL: 'redis',
};

const NUMERIC = new Set<string>(['port', 'maxConcurrentJobs', 'maxJobMemoryBytes']);
const LISTS = new Set<string>(['allowedOrigins', 'allowedHosts']);

/**
 * Read the configuration. `overrides` (from flags) win over the environment, which wins over the file's `server`
 * section. A relative dataDir in the file is relative to the file; elsewhere to the working directory.
 */
export async function loadServerConfig(options: { file?: string | null; env?: Record<string, string | undefined>; overrides?: Record<string, unknown> } = {}): Promise<ServerConfig> {
  let raw: Record<string, unknown> = {};
  if (options.file) {
    let text: string;
    try {
      text = await readFile(options.file, 'utf8');
    } catch {
      throw new Error(`configuration ${options.file} does not exist`);
    }
    let file: { server?: unknown };
    try {
      file = JSON.parse(text);
    } catch (err) {
      throw new Error(`configuration ${options.file} is not valid JSON: ${(err as Error).message}`);
    }
    if (file.server !== undefined && (typeof file.server !== 'object' || file.server === null || Array.isArray(file.server)))
      throw new SpecError('config.server', 'expected an object of server settings');
    raw = { ...(file.server as Record<string, unknown> | undefined) };
    if (typeof raw.dataDir === 'string') raw.dataDir = resolve(dirname(resolve(options.file)), raw.dataDir);
  }
  for (const [name, key] of Object.entries(ENV)) {
    const value = options.env?.[name];
    if (value !== undefined && value !== '') raw[key] = NUMERIC.has(key) ? Number(value) : LISTS.has(key) ? value.split(',').map((v) => v.trim()) : value;
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) if (value !== undefined) raw[key] = value;
  const config = serverConfigSchema.parse(raw, 'config.server');
  return {
    ...config,
    dataDir: resolve(config.dataDir),
    maxJobMemoryBytes: config.maxJobMemoryBytes ?? Math.floor(machineMemory() / 2 / config.maxConcurrentJobs),
    pluginConfig: options.file ? resolve(options.file) : null,
  };
}

/** Bytes of memory this process may use: the machine's, or its cgroup's limit where that is lower (containers). */
export function machineMemory(): number {
  const total = totalmem();
  const constrained = (process as { constrainedMemory?(): number | undefined }).constrainedMemory?.();
  return constrained && constrained > 0 && constrained < total ? constrained : total;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A server that anyone on the network can reach must have a token. */
export function assertSafeToServe(config: ServerConfig): void {
  if (!config.token && !isLoopback(config.host))
    throw new SpecError('config.server.token', `refusing to listen on ${config.host} without a token: set UNILAB_API_TOKEN (or token in the config), or bind to 127.0.0.1`);
}
