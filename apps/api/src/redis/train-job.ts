import { isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * A BullMQ job's data: what a worker needs to train one unilab job. Paths are the API's (inside its data
 * directory); `dataDir` says where that was, so a worker that mounts the shared directory elsewhere can find them.
 */
export interface TrainJob {
  id: string;
  runSpec: unknown;
  outDir: string;
  dataDir: string;
}

/**
 * The job as this worker sees it: every path under the API's data directory (the output directory, the corpora the
 * spec names) moved under this worker's mount of the same shared directory.
 */
export function onThisMachine(job: TrainJob, dataDir: string): { runSpec: unknown; outDir: string } {
  const from = job.dataDir;
  const move = (value: unknown): unknown => {
    if (typeof value === 'string') return value === from || value.startsWith(from + sep) ? resolve(dataDir, relative(from, value)) : value;
    if (Array.isArray(value)) return value.map(move);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, move(v)]));
    return value;
  };
  const outDir = move(job.outDir) as string;
  const inside = relative(dataDir, outDir);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside))
    throw new Error(`job ${job.id}'s directory ${job.outDir} is not inside the API's data directory ${from}; the queue holds a job this worker cannot place`);
  return { runSpec: move(job.runSpec), outDir };
}
