import { isAbsolute, relative, resolve, sep } from 'node:path';
import { loadRunSpec, mapAdmittedPaths, type AdmittedSpec } from '../admitted-spec.ts';

/**
 * A BullMQ job's data: what a worker needs to train one unilab job. Paths are the API's (inside its data
 * directory); `dataDir` says where that was, so a worker that mounts the shared directory elsewhere can find them.
 * `runSpec` is the admitted spec (admitted-spec.ts); a job queued by an older API holds the legacy form.
 */
export interface TrainJob {
  id: string;
  runSpec: AdmittedSpec;
  outDir: string;
  dataDir: string;
}

/**
 * The job as this worker sees it: every path under the API's data directory (the output directory, the corpora,
 * datasets, checkpoints and files the spec names) moved under this worker's mount of the same shared directory.
 */
export function onThisMachine(job: TrainJob, dataDir: string): { runSpec: AdmittedSpec; outDir: string } {
  const from = job.dataDir;
  const move = (path: string) => (path === from || path.startsWith(from + sep) ? resolve(dataDir, relative(from, path)) : path);
  const outDir = move(job.outDir);
  const inside = relative(dataDir, outDir);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside))
    throw new Error(`job ${job.id}'s directory ${job.outDir} is not inside the API's data directory ${from}; the queue holds a job this worker cannot place`);
  return { runSpec: mapAdmittedPaths(loadRunSpec(job.runSpec), move), outDir };
}
