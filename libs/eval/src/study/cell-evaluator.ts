import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { disposeParameters, type PluginRegistry } from '@unilab/core';
import { cellDir, sharedBackends, type CellEvaluator } from '@unilab/runner';
import { loadScoringModel } from '../load-scoring-model.ts';
import type { EvalReport } from '../suite/eval-report.ts';
import { reportJson } from '../suite/report-json.ts';
import { runEvalSuite } from '../suite/run-suite.ts';
import type { SuiteName } from '../suite/suite-config.ts';

/** The file a cell's full evaluation report is kept in, inside the cell's directory (`unilab report` reads it). */
export function cellEvalFile(sweepDir: string, cellId: string, suite: SuiteName): string {
  return join(cellDir(sweepDir, { id: cellId }), `eval-${suite}.json`);
}

export interface SweepEvaluatorOptions {
  registry: PluginRegistry;
  /** The sweep directory: each cell's report goes to cells/<id>/eval-<suite>.json. */
  dir: string;
  suite: SuiteName;
  onProgress?(line: string): void;
}

/**
 * The evaluation suite as the sweep's per-cell hook (runSweep's `evaluate`): the cell's final checkpoint is scored
 * by `suite`, the whole report (intervals, per-item outcomes for paired tests) is written beside the cell's
 * checkpoints, and the headline figures (evalSummary) go into the manifest. Every cell is scored on one backend of
 * its kind: a WASM backend keeps the blocks it freed, so a backend per cell would hold hundreds of MB each.
 */
export function sweepCellEvaluator(options: SweepEvaluatorOptions): CellEvaluator {
  const backendFor = sharedBackends();
  return async (cell, checkpoint) => {
    const model = await loadScoringModel(checkpoint, options.registry, await backendFor(cell.spec));
    try {
      const report = await runEvalSuite(model, options.suite, { checkpoint, onProgress: options.onProgress });
      await writeFile(cellEvalFile(options.dir, cell.id, options.suite), reportJson(report));
      return evalSummary(report);
    } finally {
      disposeParameters(model.backend, model.model.params);
    }
  };
}

/**
 * The headline figures of a report, flat (metric name → value) for the manifest: `bpb.<domain>` and `bpb.mean`
 * (bits per byte, lower is better), `nll.<mode>` (nats per token of UL2's modes), `fewshot.<task>.k<shots>` and
 * `fewshot.mean` (accuracy, higher is better). A section the model could not take contributes nothing.
 */
export function evalSummary(report: EvalReport): Record<string, number> {
  const out: Record<string, number> = {};
  const domains = report.likelihood?.bitsPerByte.domains ?? [];
  for (const d of domains) out[`bpb.${d.domain}`] = d.bitsPerByte.value;
  if (domains.length > 0) out['bpb.mean'] = domains.reduce((s, d) => s + d.bitsPerByte.value, 0) / domains.length;
  for (const m of report.likelihood?.modes.results ?? []) out[`nll.${m.mode}`] = m.natsPerToken.value;
  const shots = report.fewShot?.results ?? [];
  for (const f of shots) out[`fewshot.${f.task}.k${f.shots}`] = f.acc.value;
  if (shots.length > 0) out['fewshot.mean'] = shots.reduce((s, f) => s + f.acc.value, 0) / shots.length;
  return out;
}
