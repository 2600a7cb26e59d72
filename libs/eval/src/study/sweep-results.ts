import { readFile } from 'node:fs/promises';
import { cellDir, readLossCurve, readManifest, type CellProgress, type CellRecord, type SweepManifest } from '@unilab/runner';
import type { EvalReport } from '../suite/eval-report.ts';
import type { SuiteName } from '../suite/suite-config.ts';
import { cellEvalFile } from './cell-evaluator.ts';

/** One trained cell as the report reads it: its manifest record, its evaluation report and its training curve. */
export interface CellResult {
  record: CellRecord;
  evaluation: EvalReport | null;
  curve: CellProgress[];
}

/** The cells of one grid point (size × architecture × objective × variant) over its seeds. */
export interface Condition {
  key: string;
  size: string;
  architecture: string;
  objective: string;
  variant: string;
  cells: CellResult[];
}

export interface SweepResults {
  dir: string;
  manifest: SweepManifest;
  /** The suite the evaluations were read from (the default suite's when a cell has both). */
  suite: SuiteName | null;
  conditions: Condition[];
}

export function conditionKey(c: Pick<CellRecord, 'size' | 'architecture' | 'objective' | 'variant'>): string {
  return `${c.size}|${c.architecture}|${c.objective}|${c.variant}`;
}

/** Read a sweep directory: the manifest, each cell's evaluation report and loss curve, grouped into conditions. */
export async function readSweepResults(dir: string): Promise<SweepResults> {
  const manifest = await readManifest(dir);
  if (!manifest) throw new Error(`${dir} holds no sweep (no sweep.json): run \`unilab sweep <experiment.json> --out ${dir}\` first`);
  const suite = await evaluatedSuite(dir, manifest);
  const byKey = new Map<string, Condition>();
  for (const record of manifest.cells) {
    const evaluation = suite ? await readEvalReport(cellEvalFile(dir, record.id, suite)) : null;
    const curve = await readLossCurve(cellDir(dir, record));
    const key = conditionKey(record);
    if (!byKey.has(key)) byKey.set(key, { key, size: record.size, architecture: record.architecture, objective: record.objective, variant: record.variant, cells: [] });
    byKey.get(key)!.cells.push({ record, evaluation, curve });
  }
  return { dir, manifest, suite, conditions: [...byKey.values()] };
}

const SUITE_PREFERENCE: readonly SuiteName[] = ['default', 'quick'];

/** The suite every cell was evaluated with: `default` if any cell has it, else `quick`; null when none was. */
async function evaluatedSuite(dir: string, manifest: SweepManifest): Promise<SuiteName | null> {
  for (const suite of SUITE_PREFERENCE)
    for (const cell of manifest.cells) if (await readEvalReport(cellEvalFile(dir, cell.id, suite))) return suite;
  return null;
}

async function readEvalReport(path: string): Promise<EvalReport | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let report: EvalReport;
  try {
    report = JSON.parse(text) as EvalReport;
  } catch (err) {
    throw new Error(`${path} is not valid JSON (${(err as Error).message}); delete it and rerun the sweep to evaluate the cell again`);
  }
  if (report?.format !== 'unilab-eval/1') throw new Error(`${path}: not an evaluation report (format ${JSON.stringify(report.format)})`);
  return report;
}
