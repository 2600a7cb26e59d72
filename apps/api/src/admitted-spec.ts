import { isAlignmentSpec, parseAlignmentJobSpec, type AlignmentJobSpec, type DataFiles } from '@unilab/eval';
import { mapJobPaths, parseJobSpec, type JobSpec } from '@unilab/runner';

/** An alignment job as admitted: its base resolved to a checkpoint file (a finished job's newest, or the one named). */
export type ResolvedAlignmentJobSpec = AlignmentJobSpec & { base: { checkpoint: string } };

/**
 * The form of an admitted spec. It is written to the job store and the Redis queue, which outlive a server version,
 * so the typed value carries its version: a worker checks this one number instead of parsing the spec again (the
 * full parse happened once, at admission), and a value of another form fails the job with a message saying so rather
 * than running it misread. Bump it when `AdmittedSpec`'s shape changes, and teach `loadRunSpec` the old form.
 */
export const ADMITTED_SPEC_VERSION = 1;

/**
 * What the server stores of an admitted job and hands its worker: the spec parsed once at the edge (admission) into
 * its typed form, every path in it resolved inside the data directory.
 */
export type AdmittedSpec =
  | { specVersion: typeof ADMITTED_SPEC_VERSION; kind: 'pretrain'; job: JobSpec }
  | { specVersion: typeof ADMITTED_SPEC_VERSION; kind: 'align'; job: ResolvedAlignmentJobSpec };

/**
 * An admitted spec read back from storage (a job store row, an event-log entry, a queued job's data). A server before
 * `specVersion` stored the submitted JSON with its paths resolved in place; such a legacy value is parsed here, once,
 * into the typed form (it was admitted then, so it parses; its paths are already resolved), so that a job interrupted
 * across the upgrade still resumes. A value of the current form is returned as it is.
 */
export function loadRunSpec(stored: unknown): AdmittedSpec {
  if (isAdmittedSpec(stored)) return stored;
  if (typeof stored === 'object' && stored !== null && 'specVersion' in stored)
    throw new Error(`the job's stored spec is of form ${JSON.stringify((stored as { specVersion: unknown }).specVersion)}; this server reads form ${ADMITTED_SPEC_VERSION}`);
  if (!isAlignmentSpec(stored)) return { specVersion: ADMITTED_SPEC_VERSION, kind: 'pretrain', job: parseJobSpec(stored) };
  const job = parseAlignmentJobSpec(stored);
  if (!('checkpoint' in job.base)) throw new Error('a stored alignment job names its base checkpoint (resolved at admission)');
  return { specVersion: ADMITTED_SPEC_VERSION, kind: 'align', job: { ...job, base: job.base } };
}

/** The worker's check of what crossed the process boundary: the form's version and kind, not the spec's fields. */
export function isAdmittedSpec(value: unknown): value is AdmittedSpec {
  if (typeof value !== 'object' || value === null) return false;
  const { specVersion, kind, job } = value as Partial<Record<'specVersion' | 'kind' | 'job', unknown>>;
  return specVersion === ADMITTED_SPEC_VERSION && (kind === 'pretrain' || kind === 'align') && typeof job === 'object' && job !== null;
}

/**
 * A copy of an admitted spec with every file-system path it holds replaced by `move(path)`: a queue worker that mounts
 * the shared data directory elsewhere re-roots them onto its mount.
 */
export function mapAdmittedPaths(spec: AdmittedSpec, move: (path: string) => string): AdmittedSpec {
  if (spec.kind === 'pretrain') return { ...spec, job: mapJobPaths(spec.job, (p) => move(p.value)) };
  const { job } = spec;
  const data = 'files' in job.data ? { files: mapDataFiles(job.data.files, (file) => move(file)) } : job.data;
  return { ...spec, job: { ...job, base: { checkpoint: move(job.base.checkpoint) }, data, ...(job.outDir !== undefined && { outDir: move(job.outDir) }) } };
}

/** Where a JSONL file of an alignment job is: its set (demonstrations, comparisons), its split and its spec field. */
export interface DataFileAt {
  set: keyof DataFiles;
  split: 'train' | 'heldOut';
  field: string;
}

/** An alignment job's JSONL files, each replaced by `move(file, at)`. */
export function mapDataFiles(files: DataFiles, move: (file: string, at: DataFileAt) => string): DataFiles {
  const moved: DataFiles = {};
  for (const set of ['sft', 'pairs'] as const) {
    const given = files[set];
    const at = (split: DataFileAt['split']) => ({ set, split, field: `spec.data.files.${set}.${split}` });
    if (given) moved[set] = { train: move(given.train, at('train')), heldOut: move(given.heldOut, at('heldOut')) };
  }
  return moved;
}
