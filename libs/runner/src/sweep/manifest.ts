import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../files.ts';
import type { Experiment } from './experiment.ts';
import type { SkippedPair, SweepCell } from './grid.ts';

/**
 * A sweep directory: `sweep.json` (this manifest, rewritten atomically after every change of a cell) and one
 * directory per cell under `cells/<id>/` holding its checkpoints. Rerunning the sweep reads the manifest, skips the
 * cells that are done and resumes the others from their newest checkpoint, so a sweep survives any interruption
 * cell by cell.
 */
export const MANIFEST_FILE = 'sweep.json';

/** pending: not started; running: started (its directory may hold checkpoints); trained: training finished, not yet
 * evaluated; done: trained and evaluated (or no evaluator); failed: the last attempt failed (rerun retries it). */
export type CellStatus = 'pending' | 'running' | 'trained' | 'done' | 'failed';

export interface CellRecord extends Omit<SweepCell, 'spec'> {
  spec: SweepCell['spec'];
  status: CellStatus;
  /** Optimizer steps completed. */
  step: number;
  heldOutLoss: number | null;
  /** Training FLOPs spent so far (flopsPerStep × step). */
  flops: number | null;
  /** The final checkpoint (a path; for a server job, relative to the server's data directory). */
  checkpoint: string | null;
  /** Seconds spent training this cell, over every attempt. */
  wallSeconds: number;
  /** The API job that trains it, when the sweep runs on a server. */
  jobId?: string;
  /** What the evaluation hook returned for the final checkpoint. */
  evaluation?: Record<string, number>;
  error?: string;
}

export interface SweepManifest {
  name: string;
  experiment: Experiment;
  scale: number;
  createdAt: string;
  updatedAt: string;
  cells: CellRecord[];
  skipped: SkippedPair[];
}

export async function readManifest(dir: string): Promise<SweepManifest | null> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return JSON.parse(text) as SweepManifest;
  } catch (err) {
    throw new Error(`${join(dir, MANIFEST_FILE)} is not valid JSON (${(err as Error).message}); move it away to start the sweep afresh`);
  }
}

export async function writeManifest(dir: string, manifest: SweepManifest): Promise<void> {
  manifest.updatedAt = new Date().toISOString();
  await writeFileAtomic(join(dir, MANIFEST_FILE), new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n'));
}

/**
 * The manifest for this grid: a fresh one, or the existing one with each cell's record kept. A directory that holds
 * another grid (a cell whose spec changed, cells added or gone, another scale) is refused rather than mixed.
 */
export function reconcileManifest(existing: SweepManifest | null, experiment: Experiment, scale: number, cells: SweepCell[], skipped: SkippedPair[], dir: string): SweepManifest {
  const now = new Date().toISOString();
  if (!existing) {
    return {
      name: experiment.name,
      experiment,
      scale,
      createdAt: now,
      updatedAt: now,
      cells: cells.map((c) => ({ ...c, status: 'pending', step: 0, heldOutLoss: null, flops: null, checkpoint: null, wallSeconds: 0 })),
      skipped,
    };
  }
  const refuse = (why: string) => {
    throw new Error(`${join(dir, MANIFEST_FILE)} belongs to another sweep (${why}); choose another --out directory or move it away`);
  };
  if (existing.name !== experiment.name) refuse(`experiment "${existing.name}", not "${experiment.name}"`);
  if (existing.scale !== scale) refuse(`scale ${existing.scale}, not ${scale}`);
  const byId = new Map(existing.cells.map((c) => [c.id, c]));
  if (existing.cells.length !== cells.length || cells.some((c) => !byId.has(c.id)))
    refuse(`its cells differ: ${existing.cells.length} there, ${cells.length} in this experiment`);
  for (const cell of cells)
    if (JSON.stringify(byId.get(cell.id)!.spec) !== JSON.stringify(cell.spec)) refuse(`cell ${cell.id} was trained with another spec`);
  return { ...existing, cells: cells.map((c) => byId.get(c.id)!) };
}
