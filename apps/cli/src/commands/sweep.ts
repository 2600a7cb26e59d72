import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { ApiClient, ApiRequestError } from '@unilab/api';
import { cellEvalFile, evalSummary, reportJson, suiteConfig, sweepCellEvaluator, type EvalReport, type SuiteName } from '@unilab/eval';
import {
  expandGrid,
  inProcessCellRunner,
  parseExperiment,
  recordingLossCurves,
  runSweep,
  type CellEvaluator,
  type CellRecord,
  type CellRunner,
  type SweepCell,
  type SweepEvent,
} from '@unilab/runner';
import { numberOption, parseArgs, positiveInteger } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';
import { ProgressBar } from '../progress-bar.ts';
import { readJsonFile } from './run.ts';
import { clientFromArgs } from './submit.ts';

const USAGE =
  'usage: unilab sweep <experiment.json> [--out DIR] [--scale S] [--plan] [--eval quick|default|none] [--server URL] [--token T] [--parallel N] [--config unilab.config.json]';

/**
 * `unilab sweep experiments/paradigms.json`: train every cell of an experiment's grid (architectures × objectives ×
 * variants × sizes × seeds, where the plugins accept the pair), each matched by parameters or by compute. Cells run
 * in this process by default, one after another, or as jobs on the API's queue with --server: then every cell is
 * submitted at once (--parallel caps how many are in flight) and the server's queue spreads them over its workers
 * (one machine's, or every `unilab worker` of a Redis-backed server). The sweep directory's manifest
 * (sweep.json) records each cell; rerunning the same command skips finished cells and resumes the others from their
 * checkpoints (or their server jobs). --plan prints the grid (parameters, FLOPs per cell) without training.
 * Each trained cell is evaluated by the evaluation suite (--eval, `quick` by default; on the server as an eval job
 * with --server), its report kept in cells/<id>/eval-<suite>.json for `unilab report`.
 */
export async function sweepCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['plan']);
  const file = args.positionals[0];
  if (!file) throw new Error(USAGE);
  const experiment = parseExperiment(await readJsonFile(file, 'experiment file'));
  const registry = await registryFromArgs(args);
  const scale = numberOption(args, 'scale', 1);
  const out = args.options.get('out');
  const dir = typeof out === 'string' ? out : join('runs', 'sweeps', scale === 1 ? experiment.name : `${experiment.name}-x${scale}`);

  if (args.options.get('plan') === true) {
    const grid = expandGrid(experiment, registry, { scale });
    printPlan(grid.cells, grid.skipped);
    return 0;
  }

  const evalOption = args.options.get('eval') ?? 'quick';
  if (typeof evalOption !== 'string') throw new Error(`--eval: expected quick, default or none\n${USAGE}`);
  const suite = evalOption === 'none' ? null : (suiteConfig(evalOption).name as SuiteName);
  const useServer = args.options.has('server') || process.env.UNILAB_SERVER !== undefined;
  const client = useServer ? clientFromArgs(args.options) : null;
  const runner = recordingLossCurves(client ? serverCellRunner(client) : inProcessCellRunner(registry));
  const parallel = args.options.has('parallel') ? positiveInteger(args, 'parallel', 1) : client ? Number.MAX_SAFE_INTEGER : 1;
  const evaluate = suite === null ? undefined : client ? serverCellEvaluator(client, dir, suite) : sweepCellEvaluator({ registry, dir, suite });
  const controller = new AbortController();
  const stop = () => {
    console.error('\nunilab: stopping after the current step (a checkpoint is written; rerun the same command to continue)');
    controller.abort();
  };
  process.once('SIGINT', stop);
  const printer = new SweepPrinter();
  try {
    const result = await runSweep({ experiment, registry, dir, scale, runner, evaluate, parallel, signal: controller.signal, onEvent: (e) => printer.handle(e) });
    printer.finish();
    printSummary(result.manifest.cells);
    const failed = result.manifest.cells.filter((c) => c.status === 'failed');
    for (const c of failed) console.log(`unilab: cell ${c.id} failed: ${c.error}`);
    console.log(
      result.complete
        ? `unilab: sweep "${experiment.name}" complete: ${result.manifest.cells.length} cells in ${dir}`
        : `unilab: sweep "${experiment.name}" not complete (${failed.length} failed); rerun the same command to continue`,
    );
    return result.complete ? 0 : 1;
  } finally {
    printer.finish();
    process.off('SIGINT', stop);
  }
}

/** Progress for the whole sweep: one bar over the steps of every cell, and a line per cell. */
class SweepPrinter {
  private bar: ProgressBar | null = null;

  handle(e: SweepEvent): void {
    const log = (line: string) => (this.bar ? this.bar.log(line) : console.error(line));
    switch (e.type) {
      case 'plan': {
        const done = e.manifest.cells.filter((c) => c.status === 'done').length;
        console.error(
          `unilab: sweep "${e.manifest.name}": ${e.manifest.cells.length} cells (${done} done), ${e.totalSteps} steps in all; ` +
            `${e.manifest.skipped.length} pairs skipped (the plugins refuse them; see sweep.json)`,
        );
        this.bar = new ProgressBar(e.totalSteps, e.doneSteps);
        break;
      }
      case 'cell-start':
        log(`cell ${e.index + 1}/${e.cells} ${e.cell.id}: ${(e.cell.parameters / 1e6).toFixed(3)}M parameters, ${(e.cell.flopsPerStep / 1e9).toFixed(3)} GFLOPs/step${e.resumed ? `, resuming at step ${e.cell.step}` : ''}`);
        break;
      case 'cell-step':
        this.bar?.update(e.sweepStep, e.progress.loss, e.progress.tokens, `cell ${e.index + 1} step ${e.progress.step}/${e.cell.spec.train.steps}`);
        break;
      case 'cell-end':
        log(
          `cell ${e.cell.id}: ${e.cell.status}${e.cell.heldOutLoss !== null ? `, held-out loss ${e.cell.heldOutLoss.toFixed(4)}` : ''}` +
            `${e.cell.flops !== null ? `, ${e.cell.flops.toExponential(3)} FLOPs` : ''}, ${Math.round(e.cell.wallSeconds)} s${e.cell.error ? `: ${e.cell.error}` : ''}`,
        );
        break;
      case 'cell-evaluated':
        log(`cell ${e.cell.id} evaluated: ${Object.entries(e.cell.evaluation ?? {}).filter(([k]) => k.endsWith('.mean')).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
        break;
    }
  }

  finish(): void {
    this.bar?.finish();
    this.bar = null;
  }
}

function printPlan(cells: SweepCell[], skipped: { architecture: string; objective: string; variant: string; reason: string }[]): void {
  console.log('| cell | parameters | match error | GFLOPs/step | steps | training FLOPs |');
  console.log('|---|---|---|---|---|---|');
  let total = 0;
  for (const c of cells) {
    const flops = c.flopsPerStep * c.spec.train.steps;
    total += flops;
    console.log(`| ${c.id} | ${(c.parameters / 1e6).toFixed(3)}M | ${(100 * c.match.error).toFixed(1)}% ${c.match.by} | ${(c.flopsPerStep / 1e9).toFixed(3)} | ${c.spec.train.steps} | ${flops.toExponential(3)} |`);
  }
  console.log(`\n${cells.length} cells, ${total.toExponential(3)} training FLOPs in all`);
  if (skipped.length > 0) console.log(`\nskipped (the plugins refuse the pair):`);
  for (const s of skipped) console.log(`  ${s.architecture} × ${s.objective}${s.variant !== 'base' ? ` (${s.variant})` : ''}: ${s.reason}`);
}

function printSummary(cells: CellRecord[]): void {
  console.log('| cell | status | parameters | training FLOPs | held-out loss | seconds |');
  console.log('|---|---|---|---|---|---|');
  for (const c of cells)
    console.log(
      `| ${c.id} | ${c.status} | ${(c.parameters / 1e6).toFixed(3)}M | ${c.flops === null ? '–' : c.flops.toExponential(3)} | ${c.heldOutLoss === null ? '–' : c.heldOutLoss.toFixed(4)} | ${Math.round(c.wallSeconds)} |`,
    );
}

/**
 * Cells as jobs on the API's queue: submit the cell's spec (remembering the job id in the manifest at once), follow
 * its events; on a rerun, follow the same job, or ask the server to resume it if it was interrupted, cancelled or
 * failed. The final checkpoint is the server's path, relative to its data directory (for an evaluator beside it).
 */
export function serverCellRunner(client: ApiClient, retryDelayMs = 1000): CellRunner {
  /**
   * A read that fails for want of a server (restarting, or a Redis-backed API replaced by another) is tried again
   * for a minute, as the event stream is: a sweep outlives an API restart. Refusals (HTTP errors) are not retried,
   * nor is a submit, which is not idempotent.
   */
  const read = async <T>(what: () => Promise<T>, signal?: AbortSignal): Promise<T> => {
    for (let tries = 60; ; tries--) {
      try {
        return await what();
      } catch (err) {
        if (err instanceof ApiRequestError || signal?.aborted || tries <= 0) throw err;
      }
      await new Promise((r) => setTimeout(r, retryDelayMs));
    }
  };
  return {
    async run(cell, { signal, onStep, onJob }) {
      try {
        let job = cell.jobId ? await read(() => client.job(cell.jobId!), signal) : await client.submit(cell.spec);
        if (!cell.jobId) await onJob?.(job.id);
        if (['interrupted', 'cancelled', 'failed'].includes(job.status)) job = await client.resume(job.id);
        if (job.status !== 'completed')
          job = await client.follow(
            job.id,
            (event) => {
              if (event.event !== 'step') return;
              const e = JSON.parse(event.data) as { globalStep: number; loss: number; tokens: number };
              onStep({ step: e.globalStep, loss: e.loss, tokens: e.tokens });
            },
            { signal },
          );
        const checkpoints = await read(() => client.checkpoints(job.id), signal);
        const flops = cell.flopsPerStep * job.step;
        const outcome = { step: job.step, heldOutLoss: job.metrics.heldOutLoss, flops, checkpoint: checkpoints.at(-1)?.path ?? null, jobId: job.id };
        if (job.status === 'completed') return { status: 'trained', ...outcome };
        if (job.status === 'failed') return { status: 'failed', ...outcome, error: job.error?.message ?? 'the job failed' };
        return { status: 'interrupted', ...outcome };
      } catch (err) {
        if (signal?.aborted) return { status: 'interrupted', step: cell.step, heldOutLoss: null, flops: null, checkpoint: null, jobId: cell.jobId };
        return { status: 'failed', step: cell.step, heldOutLoss: null, flops: null, checkpoint: null, jobId: cell.jobId, error: (err as Error).message };
      }
    },
  };
}

/**
 * The evaluation suite run by the server as an eval job of the cell's job (POST /v1/jobs/:id/eval), polled until it
 * finishes; its report is written to the sweep directory like an in-process evaluation's.
 */
export function serverCellEvaluator(client: ApiClient, dir: string, suite: SuiteName, pollMs = 1000): CellEvaluator {
  return async (cell) => {
    if (!cell.jobId) throw new Error(`cell ${cell.id} has no server job to evaluate`);
    const pending = (await client.evals(cell.jobId)).find((e) => e.suite === suite && e.status !== 'failed');
    if (!pending) await client.evaluate(cell.jobId, suite);
    for (;;) {
      const view = (await client.evals(cell.jobId)).filter((e) => e.suite === suite).at(-1);
      if (view?.status === 'completed') {
        const report = view.report as EvalReport;
        await writeFile(cellEvalFile(dir, cell.id, suite), reportJson(report));
        return evalSummary(report);
      }
      if (view?.status === 'failed') throw new Error(`the server's evaluation of cell ${cell.id} failed: ${view.error}`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  };
}
