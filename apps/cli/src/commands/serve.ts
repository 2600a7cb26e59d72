import { loadServerConfig, startServerHere } from '@unilab/api';
import { findPluginConfig } from '@unilab/runner';
import { numberOption, parseArgs } from '../args.ts';

const USAGE =
  'usage: unilab serve [--config unilab.config.json] [--data-dir DIR] [--host 127.0.0.1] [--port 8787] [--token T] [--max-concurrent-jobs N] [--max-job-memory 8GiB] [--no-auto-resume] [--redis redis://host:6379]';

/**
 * `unilab serve`: the job API on this runtime (Node or Deno). Settings come from the `server` section of the
 * configuration (--config, else unilab.config.json here, whose `plugins` the server also loads), then UNILAB_*
 * environment variables, then flags. Without a token it only binds to loopback. Ctrl-C or SIGTERM checkpoints
 * running jobs. With --redis (or UNILAB_REDIS_URL) the same API queues jobs in Redis for `unilab worker` processes
 * on any machine instead of training them here.
 */
export async function serveCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['no-auto-resume', 'help']);
  if (args.options.has('help') || args.positionals.length > 0) throw new Error(USAGE);
  const text = (name: string) => {
    const v = args.options.get(name);
    if (v === true) throw new Error(`--${name} needs a value\n${USAGE}`);
    return v;
  };
  const config = await loadServerConfig({
    file: await findPluginConfig(text('config')),
    env: process.env,
    overrides: {
      dataDir: text('data-dir'),
      host: text('host'),
      port: args.options.has('port') ? numberOption(args, 'port', 0) : undefined,
      token: text('token'),
      maxConcurrentJobs: args.options.has('max-concurrent-jobs') ? numberOption(args, 'max-concurrent-jobs', 1) : undefined,
      maxJobMemoryBytes: args.options.has('max-job-memory') ? byteSize(text('max-job-memory')!) : undefined,
      autoResume: args.options.has('no-auto-resume') ? false : undefined,
      redis: text('redis'),
    },
  });
  const server = await startServerHere(config);
  const runtime = 'Deno' in globalThis ? 'Deno' : `Node ${process.versions.node}`;
  console.log(
    `unilab: job API listening on ${server.url} (${runtime}; data in ${config.dataDir}; ${config.token ? 'bearer token required' : 'no token, loopback only'}; ` +
      `${config.redis ? `jobs queued in Redis at ${redactedUrl(config.redis)} for unilab worker processes` : 'jobs run in this process'})`,
  );
  console.log(`unilab: dashboard at ${server.url}/`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log(config.redis ? 'unilab: shutting down; jobs keep running on the workers' : 'unilab: shutting down; running jobs checkpoint now and resume on the next start');
  await server.close();
  return 0;
}

const UNITS: Record<string, number> = { '': 1, B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };

/** `--max-job-memory 8GiB` (or 512MiB, or plain bytes) in bytes. */
function byteSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)?$/.exec(value.trim());
  if (!match) throw new Error(`--max-job-memory: expected a size such as 8GiB, 512MiB or a number of bytes, got ${JSON.stringify(value)}`);
  return Math.floor(Number(match[1]) * UNITS[match[2] ?? '']);
}

/** A Redis URL without its password, for the log. */
export function redactedUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
