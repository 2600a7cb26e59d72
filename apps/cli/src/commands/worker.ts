import { tmpdir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { redisUrl, startQueueWorkerHere } from '@unilab/api';
import { findPluginConfig } from '@unilab/runner';
import { parseArgs, positiveInteger, type ParsedArgs } from '../args.ts';
import { redactedUrl } from './serve.ts';

const USAGE =
  'usage: unilab worker --redis redis://host:6379 --data-dir DIR [--concurrency 1] [--scratch DIR] [--name NAME] [--config unilab.config.json]\n' +
  '  [--lock-duration-ms 30000] [--stalled-interval-ms 30000] [--max-stalled 1] [--lease-ms 10000]';

/**
 * `unilab worker`: train jobs from the Redis queue that `unilab serve --redis` feeds, on this machine. --data-dir is
 * the shared directory (checkpoints, corpora) as mounted here, the same one the API serves; --scratch a directory of
 * this worker's own. Run one per machine, or several. Ctrl-C or SIGTERM checkpoints running jobs and puts them back
 * in the queue, where another worker continues them; a worker killed outright loses its jobs to BullMQ's stalled
 * check, and another worker continues them from their newest intact checkpoint.
 */
export async function workerCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['help']);
  if (args.options.has('help') || args.positionals.length > 0) throw new Error(USAGE);
  const text = (name: string) => {
    const v = args.options.get(name);
    if (v === true) throw new Error(`--${name} needs a value\n${USAGE}`);
    return v;
  };
  const url = text('redis') ?? process.env.UNILAB_REDIS_URL;
  if (!url) throw new Error(`--redis: a worker takes its jobs from Redis; give the URL the server was started with\n${USAGE}`);
  const dataDir = text('data-dir') ?? process.env.UNILAB_DATA_DIR;
  if (!dataDir) throw new Error(`--data-dir: give the shared data directory as mounted on this machine\n${USAGE}`);
  const name = text('name') ?? `${hostname()}-${process.pid}`;
  const worker = await startQueueWorkerHere({
    redisUrl: redisUrl.parse(url, '--redis'),
    dataDir: resolve(dataDir),
    scratchDir: resolve(text('scratch') ?? join(tmpdir(), `unilab-worker-${name}`)),
    concurrency: positiveInteger(args, 'concurrency', 1),
    name,
    pluginConfig: await findPluginConfig(text('config')),
    lockDurationMs: optionalInteger(args, 'lock-duration-ms'),
    stalledIntervalMs: optionalInteger(args, 'stalled-interval-ms'),
    maxStalledCount: optionalInteger(args, 'max-stalled'),
    leaseMs: optionalInteger(args, 'lease-ms'),
  });
  console.log(`unilab: worker ${worker.name} taking jobs from ${redactedUrl(url)} (data in ${resolve(dataDir)}; concurrency ${positiveInteger(args, 'concurrency', 1)})`);
  // One Ctrl-C often arrives twice (the terminal signals the process group, and a launcher such as tsx or npx
  // passes it on too): a repeat within a second is the same request; a later one stops at once, without checkpoints.
  let stopping = 0;
  await new Promise<void>((done) => {
    const onSignal = () => {
      if (stopping === 0) {
        stopping = Date.now();
        done();
      } else if (Date.now() - stopping > 1000) {
        console.log(`unilab: worker ${worker.name} stopping now; its jobs go back to the queue when their locks lapse`);
        process.exit(130);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  console.log(`unilab: worker ${worker.name} stopping; running jobs checkpoint and go back to the queue`);
  await worker.close();
  return 0;
}

const optionalInteger = (args: ParsedArgs, name: string) => (args.options.has(name) ? positiveInteger(args, name, 1) : undefined);
