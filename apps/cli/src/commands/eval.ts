import { readFile, stat } from 'node:fs/promises';
import { compareReports, formatEvalReport, loadScoringModel, reportJson, runEvalSuite, suiteConfig, type EvalReport, type SuiteName } from '@unilab/eval';
import { latestCheckpoint, readJobProgress, writeFileAtomic } from '@unilab/runner';
import type { ApiClient } from '@unilab/api';
import { parseArgs, type ParsedArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';
import { clientFromArgs } from './submit.ts';

const USAGE =
  'usage: unilab eval <checkpoint.safetensors | run directory | job id> [--suite default|quick] [--json out.json] [--config unilab.config.json] [--server URL] [--token T]\n' +
  '       unilab eval --compare a.json b.json   which figures of two reports (--json) differ';

/** A server's job id (`POST /v1/jobs` makes them): evaluated by that server, where its checkpoints are. */
const JOB_ID = /^job_[0-9a-f]{16}$/;
const POLL_MS = 1000;

/**
 * `unilab eval <checkpoint | run dir | job id>`: the evaluation suite on one checkpoint, here, or for a job id on the
 * server that ran the job (POST /v1/jobs/:id/eval, then waiting for its report). Prints a table (every figure with
 * n, its 95% interval and the chance level) and, with --json, writes the full report (with per-item outcomes, for
 * paired comparisons between models).
 */
export async function evalCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['compare']);
  if (args.options.get('compare') === true) return compareCommand(args.positionals);
  const target = args.positionals[0];
  if (!target || args.positionals.length > 1) throw new Error(USAGE);
  const suiteName = args.options.get('suite') ?? 'default';
  if (typeof suiteName !== 'string') throw new Error(`--suite: expected default or quick\n${USAGE}`);
  const suite = suiteConfig(suiteName).name;
  const json = args.options.get('json');
  if (json === true) throw new Error(`--json: expected the path of the report to write\n${USAGE}`);
  const report = JOB_ID.test(target) && !(await exists(target)) ? await evaluateOnServer(clientFromArgs(args.options), target, suite) : await evaluateHere(target, suite, args);
  console.log(formatEvalReport(report));
  if (typeof json === 'string') {
    await writeFileAtomic(json, new TextEncoder().encode(reportJson(report)));
    console.log(`report written: ${json}`);
  }
  return 0;
}

/** `unilab eval --compare a.json b.json`: every figure of both reports side by side, and whether they differ. */
async function compareCommand(paths: string[]): Promise<number> {
  if (paths.length !== 2) throw new Error(`--compare takes two reports written by --json\n${USAGE}`);
  const [a, b] = await Promise.all(paths.map((p) => readReport(p)));
  const rows = compareReports(a, b);
  const width = Math.max(6, ...rows.map((r) => r.figure.length));
  console.log(`a: ${a.checkpoint} (${a.model.architecture}, ${a.model.objective})\nb: ${b.checkpoint} (${b.model.architecture}, ${b.model.objective})`);
  console.log(`${'figure'.padEnd(width)}  ${'a'.padStart(7)}  ${'b'.padStart(7)}  differ  how`);
  for (const r of rows)
    console.log(
      `${r.figure.padEnd(width)}  ${r.a.toFixed(3).padStart(7)}  ${r.b.toFixed(3).padStart(7)}  ${(r.differ ? 'yes' : 'no').padEnd(6)}  ${r.method === 'mcnemar-exact' ? `McNemar p=${r.pValue!.toPrecision(2)}` : '95% intervals'}`,
    );
  return 0;
}

async function readReport(path: string): Promise<EvalReport> {
  let report: EvalReport;
  try {
    report = JSON.parse(await readFile(path, 'utf8')) as EvalReport;
  } catch (err) {
    throw new Error(`cannot read the report ${path}: ${(err as Error).message}`);
  }
  if (report?.format !== 'unilab-eval/1') throw new Error(`${path} is not a report written by unilab eval --json (format "unilab-eval/1")`);
  return report;
}

async function evaluateHere(target: string, suite: SuiteName, args: ParsedArgs): Promise<EvalReport> {
  const checkpoint = await resolveCheckpoint(target);
  const model = await loadScoringModel(checkpoint, await registryFromArgs(args));
  return runEvalSuite(model, suite, { checkpoint, onProgress: (line) => process.stderr.write(`${line}\n`) });
}

/** Ask the server to evaluate its job, then wait for the report (the server runs one evaluation at a time). */
async function evaluateOnServer(client: ApiClient, id: string, suite: SuiteName): Promise<EvalReport> {
  const queued = await client.evaluate(id, suite);
  process.stderr.write(`evaluating job ${id} (${queued.checkpoint}) on ${client.baseUrl} with the ${suite} suite\n`);
  for (;;) {
    const current = (await client.evals(id)).find((e) => e.suite === suite);
    if (!current) throw new Error(`the server lost the evaluation of job ${id}`);
    if (current.status === 'failed') throw new Error(`the server's evaluation of job ${id} failed: ${current.error}`);
    if (current.status === 'completed') return current.report as EvalReport;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * A checkpoint file as given; a run directory's newest intact checkpoint (`unilab train --out DIR`); a multi-stage
 * job directory's last completed stage (`unilab run --out DIR`), else the newest checkpoint of the stage it is in.
 */
export async function resolveCheckpoint(target: string): Promise<string> {
  let info;
  try {
    info = await stat(target);
  } catch {
    throw new Error(`${target} does not exist: expected a checkpoint (.safetensors) or a run directory`);
  }
  if (info.isFile()) return target;
  const progress = await readJobProgress(target);
  const finished = progress?.completed.at(-1)?.checkpoint;
  if (finished) return finished;
  const latest = await latestCheckpoint(target);
  if (latest) return latest.path;
  throw new Error(`${target} holds no intact checkpoint (looked for ${target}/checkpoints/step-*.safetensors and a finished stage in ${target}/progress.json)`);
}
