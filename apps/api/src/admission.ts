import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SpecError, type PluginRegistry, type TrainingFootprint } from '@unilab/core';
import { BUNDLED_CORPORA, readShardIndex } from '@unilab/data';
import { estimateTraining, jobTokenizer, mapJobPaths, parseJobSpec, validateJobPlugins, type JobSpec } from '@unilab/runner';
import { ADMITTED_SPEC_VERSION, type AdmittedSpec } from './admitted-spec.ts';
import type { ServerConfig } from './config.ts';

/** A job the server accepted: its spec, parsed once and with every path resolved inside the data directory, and its directory. */
export interface AdmittedJob {
  job: JobSpec;
  outDir: string;
}

export type Limits = Pick<
  ServerConfig,
  'dataDir' | 'maxParameters' | 'maxStepsPerJob' | 'maxTokensPerStep' | 'maxShardWindowBytes' | 'maxJobMemoryBytes' | 'admitUnestimatedArchitectures'
>;

/**
 * Everything a submitted spec must pass before it is stored: the spec schema (parsed here, once), the data directory
 * (every file path resolves inside it, on the typed spec), the plugins it names, and the server's limits (model size
 * and training memory estimated from the config by its architecture, never by building it; steps; tokens per step;
 * the shard stream's shuffle window). Each refusal is a SpecError naming the field.
 */
export async function admitJob(raw: unknown, jobId: string, registry: PluginRegistry, limits: Limits): Promise<AdmittedJob> {
  const dataDir = realpathSync(limits.dataDir);
  const job = mapJobPaths(parseJobSpec(raw), ({ kind, value, field }) => {
    if (kind === 'outDir') return value;
    if (kind === 'corpus' && (BUNDLED_CORPORA as readonly string[]).includes(value)) return value;
    return insideDataDir(dataDir, value, field, true);
  });
  validateJobPlugins(job, registry);
  await checkLimits(job, registry, limits);
  const outDir = jobOutDir(dataDir, jobId, job.stages[0].spec.outDir);
  return { job: mapJobPaths(job, (p) => (p.kind === 'outDir' ? outDir : p.value)), outDir };
}

/** What the job manager stores of an admitted job of either kind (pre-training, alignment). */
export interface JobAdmission {
  name: string;
  totalSteps: number;
  stageCount: number;
  runSpec: AdmittedSpec;
  outDir: string;
}

export function pretrainingAdmission({ job, outDir }: AdmittedJob): JobAdmission {
  return {
    name: job.name,
    totalSteps: job.totalSteps,
    stageCount: job.stages.length,
    runSpec: { specVersion: ADMITTED_SPEC_VERSION, kind: 'pretrain', job },
    outDir,
  };
}

/**
 * The job's directory: jobs/<id> in the data directory, or the spec's `outDir` (a new or empty directory inside the
 * data directory, outside jobs/).
 */
export function jobOutDir(dataDir: string, jobId: string, requested: unknown): string {
  if (typeof requested !== 'string') return join(dataDir, 'jobs', jobId);
  const outDir = insideDataDir(dataDir, requested, 'spec.outDir', false);
  const jobsDir = join(dataDir, 'jobs');
  if (outDir === jobsDir || outDir.startsWith(jobsDir + sep))
    throw new SpecError('spec.outDir', `${JSON.stringify(requested)} is inside jobs/, where jobs without an outDir get theirs; choose a directory elsewhere in the data directory`);
  let ancestor = outDir;
  while (!existsSync(ancestor)) ancestor = dirname(ancestor);
  if (!statSync(ancestor).isDirectory())
    throw new SpecError(
      'spec.outDir',
      `${JSON.stringify(requested)} ${ancestor === outDir ? 'is a file' : `goes through the file ${JSON.stringify(relative(dataDir, ancestor))}`}; expected a new or empty directory inside the data directory`,
    );
  if (outDir === dataDir || (ancestor === outDir && readdirSync(outDir).length > 0))
    throw new SpecError('spec.outDir', 'must be a new or empty directory inside the data directory');
  return outDir;
}

async function checkLimits(job: JobSpec, registry: PluginRegistry, limits: Limits): Promise<void> {
  // Every stage inherits data.shardWindowBytes from the top level (a stage's data has no such field).
  const window = job.stages[0].spec.data.shardWindowBytes;
  if (job.stages.some((s) => s.spec.data.shards) && window > limits.maxShardWindowBytes)
    throw new SpecError(
      'spec.data.shardWindowBytes',
      `the shard stream would hold up to ${formatBytes(window)} of documents; this server allows at most ${formatBytes(limits.maxShardWindowBytes)} (maxShardWindowBytes)`,
    );
  let steps = 0;
  for (const stage of job.stages) {
    const t = stage.spec.train;
    const where = job.stages.length > 1 ? `spec.stages[${stage.index}]` : 'spec';
    const tokens = t.batchSize * t.seqLen * t.gradAccum;
    if (tokens > limits.maxTokensPerStep)
      throw new SpecError(
        `${where}.train.batchSize`,
        `batchSize x seqLen x gradAccum = ${tokens} tokens per step; this server allows at most ${limits.maxTokensPerStep} (maxTokensPerStep)`,
      );
    steps += t.steps * (stage.gate?.action === 'retry' ? stage.gate.maxRetries + 1 : 1);
  }
  if (steps > limits.maxStepsPerJob)
    throw new SpecError(
      job.stages.length > 1 ? 'spec.stages' : 'spec.train.steps',
      `the job may run ${steps} steps (every stage, with the retries its gates allow); this server allows at most ${limits.maxStepsPerJob} (maxStepsPerJob)`,
    );
  const first = job.stages[0].spec;
  // The job's tokenizer reserves every stage's special tokens, so its vocabulary (not the first stage's) sizes the model.
  const vocabSize = first.data.shards ? await datasetVocabSize(first.data.shards) : jobTokenizer(job, registry).vocabSize;
  for (const stage of job.stages) {
    const footprint = estimateTraining(stage.spec, registry, vocabSize);
    if (footprint === null) {
      // A plugin architecture without a footprint hook: nothing bounds its memory, so it runs only where the operator said so.
      if (limits.admitUnestimatedArchitectures) break;
      throw new SpecError(
        'spec.model.architecture',
        `architecture "${first.model.architecture}" cannot estimate its size and training memory (its plugin has no footprint hook); this server admits such architectures only with admitUnestimatedArchitectures`,
      );
    }
    if (footprint.parameters > limits.maxParameters)
      throw new SpecError(
        'spec.model.config',
        `this model would have about ${formatCount(footprint.parameters)} parameters; this server allows at most ${formatCount(limits.maxParameters)} (maxParameters)`,
      );
    if (footprint.total > limits.maxJobMemoryBytes) throw memoryRefusal(footprint, stage.spec.train, job.stages.length > 1 ? `spec.stages[${stage.index}]` : 'spec', limits.maxJobMemoryBytes);
  }
}

/** A job whose estimated training memory is over the limit: the estimate, its parts and the fields that set them. */
export function memoryRefusal(footprint: TrainingFootprint, train: { batchSize: number; seqLen: number }, where: string, limit: number): SpecError {
  // The model's own share alone over the limit: no batch fits, so the model config is the field to change.
  const field = footprint.weightsAndOptimizer > limit ? 'spec.model.config' : `${where}.train.batchSize`;
  return new SpecError(
    field,
    `training this job needs about ${formatBytes(footprint.total)}: ${formatBytes(footprint.weightsAndOptimizer)} for the weights, gradients and AdamW moments of ` +
      `${formatCount(footprint.parameters)} parameters (spec.model.config) and ${formatBytes(footprint.activations)} of activations at ` +
      `${where}.train.batchSize ${train.batchSize} x ${where}.train.seqLen ${train.seqLen}; this server allows at most ${formatBytes(limit)} per job (maxJobMemoryBytes)`,
  );
}

/** The vocabulary of a prepared dataset, from its index (the model's embedding and head scale with it). */
async function datasetVocabSize(dir: string): Promise<number> {
  try {
    return (await readShardIndex(dir)).vocabSize;
  } catch (err) {
    throw new SpecError('spec.data.shards', `expected a dataset prepared by \`unilab data\`: ${(err as Error).message}`);
  }
}

/**
 * Resolve a spec path against the data directory and refuse anything outside it, following symbolic links so that a
 * link inside cannot point outside. `mustExist` for inputs (corpora), not for outputs.
 */
export function insideDataDir(dataDir: string, value: string, path: string, mustExist: boolean, what?: string): string {
  const allowed =
    what ??
    (mustExist
      ? `a bundled corpus (${BUNDLED_CORPORA.join(', ')}) or a path inside the server's data directory (relative paths start there)`
      : `a path inside the server's data directory (relative paths start there)`);
  const target = resolve(dataDir, value);
  const inside = (p: string) => {
    const r = relative(dataDir, p);
    return r === '' || (!r.startsWith('..') && !isAbsolute(r));
  };
  if (!inside(target)) throw new SpecError(path, `expected ${allowed}; got ${JSON.stringify(value)}, which is outside it`);
  if (mustExist && !existsSync(target)) throw new SpecError(path, `${JSON.stringify(value)} does not exist in the data directory; expected ${allowed}`);
  let existing = target;
  while (!existsSync(existing)) existing = dirname(existing);
  if (!inside(realpathSync(existing))) throw new SpecError(path, `${JSON.stringify(value)} links outside the data directory; expected ${allowed}`);
  return target;
}

export function formatBytes(n: number): string {
  return n >= 1 << 30 ? `${+(n / 2 ** 30).toFixed(2)} GiB` : `${+(n / 2 ** 20).toFixed(2)} MiB`;
}

export function formatCount(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${n}`;
}
