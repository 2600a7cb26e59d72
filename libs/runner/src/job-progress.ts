import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './files.ts';
import type { JobProgress } from './job-events.ts';
import type { StagePlan } from './job-spec.ts';

/** A job's directory layout: one directory per stage attempt, and progress.json beside them. */
const PROGRESS_FILE = 'progress.json';

export function stageDir(outDir: string, stage: StagePlan, attempt: number): string {
  return join(outDir, `stage-${stage.index}-${stage.name.replace(/[^A-Za-z0-9_.-]+/g, '_')}`, `attempt-${attempt}`);
}

export async function readJobProgress(outDir: string): Promise<JobProgress | null> {
  try {
    return JSON.parse(await readFile(join(outDir, PROGRESS_FILE), 'utf8')) as JobProgress;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read the progress of job ${outDir}: ${(err as Error).message}`);
  }
}

export const writeProgress = (outDir: string, owner: string | undefined, progress: JobProgress) =>
  writeFileAtomic(join(outDir, PROGRESS_FILE), JSON.stringify({ ...progress, ...(owner !== undefined && { owner }) }, null, 2));

