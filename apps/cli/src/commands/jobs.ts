import { parseArgs } from '../args.ts';
import { clientFromArgs } from './submit.ts';

const USAGE = 'usage: unilab jobs [ID] [--status STATUS] [--server URL] [--token T]';

/** `unilab jobs`: a table of the server's jobs, newest first; `unilab jobs ID`: one job in full (JSON). */
export async function jobsCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.positionals.length > 1) throw new Error(USAGE);
  const client = clientFromArgs(args.options);
  const id = args.positionals[0];
  if (id) {
    console.log(JSON.stringify(await client.job(id), null, 2));
    return 0;
  }
  const status = args.options.get('status');
  const jobs = await client.jobs(typeof status === 'string' ? status : undefined);
  const rows = jobs.map((j) => [
    j.id,
    j.name,
    j.status,
    j.stage.count > 1 ? `${j.stage.index + 1}/${j.stage.count} ${j.stage.name ?? ''}` : '-',
    `${j.step}/${j.totalSteps}`,
    j.metrics.loss?.toFixed(4) ?? '-',
    j.metrics.heldOutLoss?.toFixed(4) ?? '-',
    j.createdAt.replace('T', ' ').slice(0, 19),
  ]);
  const table = [['ID', 'NAME', 'STATUS', 'STAGE', 'STEP', 'LOSS', 'HELD-OUT', 'CREATED'], ...rows];
  const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
  for (const row of table) console.log(row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
  if (jobs.length === 0) console.log('(no jobs)');
  return 0;
}
