import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PluginRegistry } from '@unilab/core';
import type { Experiment } from './experiment.ts';
import { expandGrid, type SweepCell } from './grid.ts';
import { readManifest, reconcileManifest, writeManifest, type CellRecord, type SweepManifest } from './manifest.ts';

/** What training one cell ended with. */
export interface CellOutcome {
  status: 'trained' | 'interrupted' | 'failed';
  step: number;
  heldOutLoss: number | null;
  flops: number | null;
  checkpoint: string | null;
  error?: string;
  jobId?: string;
}

export interface CellProgress {
  step: number;
  loss: number;
  tokens: number;
}

/**
 * Trains one cell: in this process (`inProcessCellRunner`) or as a job on the API's queue (the CLI's server runner).
 * It resumes by itself: from the checkpoints in `dir`, or from the job `record.jobId` names.
 */
export interface CellRunner {
  run(cell: CellRecord, context: { dir: string; signal?: AbortSignal; onStep(progress: CellProgress): void; onJob?(jobId: string): void }): Promise<CellOutcome>;
}

/**
 * The evaluation hook: called once per trained cell with its final checkpoint; what it returns (metric name → value)
 * goes into the manifest as the cell's `evaluation`. The evaluation suite plugs in here; without one a cell is done
 * when its training is (its held-out loss is always recorded).
 */
export type CellEvaluator = (cell: CellRecord, checkpoint: string) => Promise<Record<string, number>>;

export type SweepEvent =
  | { type: 'plan'; manifest: SweepManifest; totalSteps: number; doneSteps: number }
  | { type: 'cell-start'; index: number; cells: number; cell: CellRecord; resumed: boolean }
  | { type: 'cell-step'; index: number; cell: CellRecord; progress: CellProgress; sweepStep: number; totalSteps: number }
  | { type: 'cell-end'; index: number; cell: CellRecord }
  | { type: 'cell-evaluated'; index: number; cell: CellRecord };

export interface RunSweepOptions {
  experiment: Experiment;
  registry: PluginRegistry;
  /** The sweep directory (manifest + cells/<id>/). */
  dir: string;
  scale?: number;
  runner: CellRunner;
  evaluate?: CellEvaluator;
  /**
   * Cells in flight at once (1: one after another). A server's queue spreads them over its workers, so a sweep on
   * a server submits many; in this process they would share its cores.
   */
  parallel?: number;
  signal?: AbortSignal;
  onEvent?(event: SweepEvent): void;
}

export interface SweepResult {
  manifest: SweepManifest;
  /** Whether every cell is done (false after an interruption or a failed cell). */
  complete: boolean;
}

export function cellDir(dir: string, cell: Pick<SweepCell, 'id'>): string {
  return join(dir, 'cells', cell.id);
}

/**
 * Run a sweep to completion, cells started in grid order, `parallel` at a time. Finished cells are skipped, started
 * ones resumed (the runner continues from their checkpoints or job), failed ones retried; an abort stops after the
 * current cells' step, with a checkpoint, and the manifest says where every cell stands.
 */
export async function runSweep(options: RunSweepOptions): Promise<SweepResult> {
  const { experiment, registry, dir, runner, onEvent = () => {} } = options;
  const scale = options.scale ?? 1;
  const grid = expandGrid(experiment, registry, { scale });
  await mkdir(dir, { recursive: true });
  const manifest = reconcileManifest(await readManifest(dir), experiment, scale, grid.cells, grid.skipped, dir);
  await writeManifest(dir, manifest);

  const steps = (c: CellRecord) => c.spec.train.steps;
  const totalSteps = manifest.cells.reduce((n, c) => n + steps(c), 0);
  let sweepStep = manifest.cells.reduce((n, c) => n + Math.min(c.step, steps(c)), 0);
  onEvent({ type: 'plan', manifest, totalSteps, doneSteps: sweepStep });

  // Lanes write the one manifest: one write at a time, each of the manifest as it stands then.
  let saved: Promise<void> = Promise.resolve();
  const save = () => (saved = saved.then(() => writeManifest(dir, manifest)));
  let interrupted = false;

  /** Train (unless trained), evaluate and finish one cell. */
  async function runCell(index: number, cell: CellRecord): Promise<void> {
    if (cell.status !== 'trained') {
      const resumed = cell.status !== 'pending';
      cell.status = 'running';
      delete cell.error;
      await save();
      onEvent({ type: 'cell-start', index, cells: manifest.cells.length, cell, resumed });
      const started = performance.now();
      const outcome = await runner.run(cell, {
        dir: cellDir(dir, cell),
        signal: options.signal,
        onStep(progress) {
          sweepStep += progress.step - cell.step;
          cell.step = progress.step;
          onEvent({ type: 'cell-step', index, cell, progress, sweepStep, totalSteps });
        },
        async onJob(jobId) {
          cell.jobId = jobId;
          await save();
        },
      });
      cell.wallSeconds += (performance.now() - started) / 1000;
      sweepStep += outcome.step - cell.step;
      cell.step = outcome.step;
      cell.heldOutLoss = outcome.heldOutLoss;
      cell.flops = outcome.flops;
      cell.checkpoint = outcome.checkpoint;
      if (outcome.jobId) cell.jobId = outcome.jobId;
      cell.status = outcome.status === 'trained' ? 'trained' : outcome.status === 'failed' ? 'failed' : 'running';
      if (outcome.error) cell.error = outcome.error;
      await save();
      onEvent({ type: 'cell-end', index, cell });
      if (outcome.status === 'interrupted') interrupted = true;
      if (outcome.status !== 'trained') return;
    }
    if (options.evaluate && cell.checkpoint) {
      cell.evaluation = await options.evaluate(cell, cell.checkpoint);
      onEvent({ type: 'cell-evaluated', index, cell });
    }
    cell.status = 'done';
    await save();
  }

  // `parallel` lanes take the cells in grid order; an interruption stops every lane from starting another cell.
  let next = 0;
  const lane = async () => {
    for (;;) {
      if (options.signal?.aborted || interrupted) return;
      const index = next++;
      if (index >= manifest.cells.length) return;
      const cell = manifest.cells[index];
      if (cell.status !== 'done') await runCell(index, cell);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallel ?? 1, manifest.cells.length)) }, lane));
  await saved;
  return { manifest, complete: manifest.cells.every((c) => c.status === 'done') };
}
