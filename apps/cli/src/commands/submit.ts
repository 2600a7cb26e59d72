import { ApiClient, jobLogEvent } from '@unilab/api';
import { parseArgs } from '../args.ts';
import { JobProgressPrinter, readJsonFile } from './run.ts';

const USAGE = 'usage: unilab submit <spec.json> [--server URL] [--token T] [--detach]';

/** The server and token the client commands talk to: --server / --token, else UNILAB_SERVER / UNILAB_API_TOKEN. */
export function clientFromArgs(options: Map<string, string | true>): ApiClient {
  const server = options.get('server');
  const token = options.get('token');
  return new ApiClient(
    typeof server === 'string' ? server : (process.env.UNILAB_SERVER ?? 'http://127.0.0.1:8787'),
    typeof token === 'string' ? token : process.env.UNILAB_API_TOKEN,
  );
}

/** `unilab submit spec.json`: submit a job, print its id, then follow its events with a progress bar. */
export async function submitCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['detach']);
  const specPath = args.positionals[0];
  if (!specPath) throw new Error(USAGE);
  const client = clientFromArgs(args.options);
  const job = await client.submit(await readJsonFile(specPath, 'spec file'));
  console.log(job.id);
  if (args.options.get('detach') === true) return 0;
  const printer = new JobProgressPrinter(job.totalSteps);
  const final = await client.follow(job.id, (event) => printer.handle(jobLogEvent(event)));
  printer.finish();
  const loss = final.metrics.heldOutLoss ?? final.metrics.loss;
  console.log(`unilab: job ${final.id} ${final.status} at step ${final.step}/${final.totalSteps}${loss !== null ? `, loss ${loss.toFixed(4)}` : ''}${final.error ? `: ${final.error.message}` : ''}`);
  return final.status === 'completed' ? 0 : 1;
}
