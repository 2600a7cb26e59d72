import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SpecError, arrayOf, boolean, field, integer, object, optional, string } from '@unilab/core';

/**
 * Server configuration: a JSON file, then environment variables, then command-line flags, each overriding the one
 * before. Validated with the same schema language as specs, so a bad setting names its field.
 */
const serverConfigSchema = object({
  /** Jobs, the SQLite store and user corpora live here; spec paths must stay inside it. */
  dataDir: field(string({ nonEmpty: true }), 'unilab-data'),
  host: field(string({ nonEmpty: true }), '127.0.0.1'),
  /** 0 picks a free port. */
  port: field(integer({ min: 0, max: 65535 }), 8787),
  /** Bearer token for every route that changes state or reads job data; required unless host is loopback. */
  token: optional(string({ nonEmpty: true })),
  maxConcurrentJobs: field(integer({ min: 1, max: 256 }), 1),
  maxQueuedJobs: field(integer({ min: 0 }), 1000),
  /** Largest model (estimated from its config before anything is built). */
  maxParameters: field(integer({ min: 1 }), 100_000_000),
  /** Most optimizer steps of a job, counting every stage and the retries its gates allow. */
  maxStepsPerJob: field(integer({ min: 1 }), 1_000_000),
  /** Most tokens in one optimizer step (batchSize x seqLen x gradAccum), which bounds activation memory. */
  maxTokensPerStep: field(integer({ min: 1 }), 1 << 20),
  maxBodyBytes: field(integer({ min: 1024 }), 1 << 20),
  maxCompletionTokens: field(integer({ min: 1 }), 1024),
  /** On start, resume jobs the previous server left running (from their last checkpoint). */
  autoResume: field(boolean(), true),
  /** How long a shutdown waits for running jobs to checkpoint before stopping their workers. */
  shutdownGraceMs: field(integer({ min: 0 }), 5000),
  /** Extra plugin modules (paths, relative to the config file); each exports `plugins`. */
  plugins: field(arrayOf(string({ nonEmpty: true })), []),
});

export type ServerConfig = ReturnType<typeof serverConfigSchema.parse>;

const ENV: Record<string, keyof ServerConfig> = {
  UNILAB_DATA_DIR: 'dataDir',
  UNILAB_HOST: 'host',
  UNILAB_PORT: 'port',
  UNILAB_API_TOKEN: 'token',
  UNILAB_MAX_CONCURRENT_JOBS: 'maxConcurrentJobs',
};

const NUMERIC = new Set<string>(['port', 'maxConcurrentJobs']);

/**
 * Read the configuration. `overrides` (from flags) win over the environment, which wins over the file. Relative
 * paths in the file (dataDir, plugins) are relative to the file; elsewhere to the working directory. Plugin paths
 * come back as file URLs.
 */
export async function loadServerConfig(options: { file?: string; env?: Record<string, string | undefined>; overrides?: Record<string, unknown> } = {}): Promise<ServerConfig> {
  let raw: Record<string, unknown> = {};
  let base = process.cwd();
  if (options.file) {
    let text: string;
    try {
      text = await readFile(options.file, 'utf8');
    } catch {
      throw new Error(`server config ${options.file} does not exist`);
    }
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new Error(`server config ${options.file} is not valid JSON: ${(err as Error).message}`);
    }
    base = dirname(resolve(options.file));
    if (typeof raw.dataDir === 'string') raw.dataDir = resolve(base, raw.dataDir);
  }
  for (const [name, key] of Object.entries(ENV)) {
    const value = options.env?.[name];
    if (value !== undefined && value !== '') raw[key] = NUMERIC.has(key) ? Number(value) : value;
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) if (value !== undefined) raw[key] = value;
  const config = serverConfigSchema.parse(raw, 'config');
  return {
    ...config,
    dataDir: resolve(config.dataDir),
    plugins: config.plugins.map((p) => (/^[a-z]+:/.test(p) ? p : pathToFileURL(isAbsolute(p) ? p : resolve(base, p)).href)),
  };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A server that anyone on the network can reach must have a token. */
export function assertSafeToServe(config: ServerConfig): void {
  if (!config.token && !isLoopback(config.host))
    throw new SpecError('config.token', `refusing to listen on ${config.host} without a token: set UNILAB_API_TOKEN (or token in the config), or bind to 127.0.0.1`);
}
