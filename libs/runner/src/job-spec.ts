import {
  SpecError,
  arrayOf,
  field,
  integer,
  json,
  number,
  object,
  oneOf,
  optional,
  string,
  type PluginRegistry,
} from '@unilab/core';
import { ByteTokenizer } from '@unilab/data';
import type { MixtureComponent } from './mixture.ts';
import { objectiveSpecSchema, objectiveSpecialTokens } from './objective-mixture.ts';
import { validateSpecPlugins } from './run.ts';
import { parseTrainingSpec, type TrainingSpec } from './spec.ts';

/**
 * Multi-phase pre-training (InternLM-style): a job is a list of stages, each with its own data mixture, objective,
 * learning-rate schedule and budget, run one after another on the same model. A stage starts from the previous
 * stage's final checkpoint (parameters only: each stage has its own optimizer and schedule). An optional eval gate
 * checks a metric at the end of a stage and either continues, retries the stage from its start with a new seed, or
 * stops the job.
 *
 * A job spec is a training spec (the defaults every stage inherits) plus `stages`; without `stages` it is one stage.
 */
/**
 * A gate on one of `metrics`, measured at the end of a stage: the pre-training stages' (heldOutLoss: the stage's
 * final held-out loss; trainLoss: mean training loss of its last 10 steps; both pass when metric <= threshold) and
 * the alignment stages' (whose metrics say which way they pass).
 */
export function gateSchemaFor<const M extends string>(metrics: readonly M[]) {
  return object({
    metric: field(oneOf(metrics)),
    threshold: field(number()),
    /** What a failed gate does: go on anyway, retry the stage from its start with a new seed, or stop the job. */
    action: field(oneOf(['continue', 'retry', 'stop'] as const)),
    /** For action "retry": attempts after the first; when they all fail the job fails. */
    maxRetries: field(integer({ min: 0, max: 10 }), 1),
  });
}

const gateSchema = gateSchemaFor(['heldOutLoss', 'trainLoss'] as const);

export type Gate = ReturnType<typeof gateSchema.parse>;

const stageDataSchema = object({
  /** One corpus (as in spec.data.corpus)... */
  corpus: optional(string({ nonEmpty: true })),
  /** ...or a mixture of corpora with token rates... */
  mixture: optional(arrayOf(object({ corpus: field(string({ nonEmpty: true })), weight: field(number({ greaterThan: 0 })) }), { minLength: 1 })),
  /** ...or a dataset prepared by `unilab data` (as in spec.data.shards). */
  shards: optional(string({ nonEmpty: true })),
  heldOutFraction: optional(number({ min: 0, max: 0.5 })),
});

const stageSchema = object({
  name: field(string({ nonEmpty: true })),
  /** Budget in optimizer steps, or in training tokens (rounded up to whole steps); exactly one of the two. */
  steps: optional(integer({ min: 1, max: 10_000_000 })),
  tokens: optional(integer({ min: 1 })),
  data: optional(stageDataSchema),
  /** One objective or a mixture of objectives with rates (as in spec.objective). */
  objective: optional(objectiveSpecSchema),
  /** Overrides of spec.train for this stage (lr, schedule, warmupSteps, batchSize, ...), all but steps. */
  train: optional(json()),
  gate: optional(gateSchema),
});

export interface StagePlan {
  index: number;
  name: string;
  /** The stage's full training spec: train.steps is its budget, seed the job's (a retry derives a new one). */
  spec: TrainingSpec;
  /** Where the stage's objective was written: its own `spec.stages[i].objective`, or the inherited `spec.objective`. */
  objectivePath: string;
  /** Where the stage's data source was written: its own `spec.stages[i].data`, or the inherited `spec.data`. */
  dataPath: string;
  mixture?: MixtureComponent[];
  gate?: Gate;
}

export interface JobSpec {
  name: string;
  stages: StagePlan[];
  /** Steps of all stages together (the job's global step runs from 0 to this). */
  totalSteps: number;
}

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validate a job spec; errors name the bad field from the spec root, e.g. `spec.stages[1].train.lr`. */
export function parseJobSpec(value: unknown): JobSpec {
  if (!isObject(value)) throw new SpecError('spec', `expected an object, got ${Array.isArray(value) ? 'a list' : JSON.stringify(value) ?? 'nothing'}`);
  const { stages: rawStages, ...base } = value;
  if (rawStages === undefined) {
    const spec = parseTrainingSpec(base);
    return { name: spec.name, stages: [{ index: 0, name: spec.name, spec, objectivePath: 'spec.objective', dataPath: 'spec.data' }], totalSteps: spec.train.steps };
  }
  if (!Array.isArray(rawStages) || rawStages.length === 0)
    throw new SpecError('spec.stages', 'expected a non-empty list of stages ({ name, steps | tokens, data?, objective?, train?, gate? })');
  if (isObject(base.train) && base.train.steps !== undefined)
    throw new SpecError('spec.train.steps', 'a staged job gives each stage its own budget: set stages[i].steps or stages[i].tokens instead');
  const defaults = parseTrainingSpec(base);
  const stages = rawStages.map((raw, index) => parseStage(base, raw, index));
  const names = new Set<string>();
  for (const s of stages) {
    if (names.has(s.name)) throw new SpecError(`spec.stages[${s.index}].name`, `"${s.name}" is used by an earlier stage; stage names must be unique`);
    names.add(s.name);
  }
  return { name: defaults.name, stages, totalSteps: stages.reduce((n, s) => n + s.spec.train.steps, 0) };
}

function parseStage(base: Raw, raw: unknown, index: number): StagePlan {
  const path = `spec.stages[${index}]`;
  const stage = stageSchema.parse(raw, path);
  if ((stage.steps === undefined) === (stage.tokens === undefined))
    throw new SpecError(`${path}.steps`, 'give the stage a budget: exactly one of steps or tokens');
  const sources = stage.data ? [stage.data.corpus, stage.data.mixture, stage.data.shards].filter((s) => s !== undefined).length : 1;
  if (sources !== 1) throw new SpecError(`${path}.data`, 'expected exactly one of corpus, mixture or shards');
  const baseData = isObject(base.data) ? base.data : {};
  const mixture = stage.data?.mixture;
  const data = {
    ...baseData,
    // A stage that names its own source replaces the inherited one, whichever kind it was.
    ...(stage.data && { shards: stage.data.shards }),
    ...(stage.data?.corpus !== undefined && { corpus: stage.data.corpus }),
    // The spec records the first corpus of a mixture; the mixture itself is prepared by runStages.
    ...(mixture && { corpus: mixture[0].corpus }),
    ...(stage.data?.heldOutFraction !== undefined && { heldOutFraction: stage.data.heldOutFraction }),
  };
  const train = { ...(isObject(base.train) ? base.train : {}), ...stage.train };
  const specFor = (steps: number) =>
    inStage(index, stage, () => parseTrainingSpec({ ...base, name: `${base.name ?? 'run'}/${stage.name}`, data, objective: stage.objective ?? base.objective, train: { ...train, steps } }));
  let steps = stage.steps;
  if (steps === undefined) {
    const t = specFor(10_000_000).train;
    steps = Math.ceil(stage.tokens! / (t.batchSize * t.seqLen * t.gradAccum));
  }
  return {
    index,
    name: stage.name,
    spec: specFor(steps),
    objectivePath: stage.objective ? `${path}.objective` : 'spec.objective',
    dataPath: stage.data ? `${path}.data` : 'spec.data',
    ...(mixture && { mixture }),
    ...(stage.gate && { gate: stage.gate }),
  };
}

/** Report an error of a stage's derived spec at the stage's own field when the stage set that field. */
function inStage<T>(index: number, stage: { train?: Raw; objective?: unknown; data?: unknown; name: string }, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    const [, section, key] = err.path.split('.');
    const own =
      (section === 'train' && stage.train !== undefined && key in stage.train) ||
      (section === 'objective' && stage.objective !== undefined) ||
      (section === 'data' && stage.data !== undefined);
    if (own) throw new SpecError(err.path.replace(/^spec\./, `spec.stages[${index}].`), err.problem);
    throw new SpecError(err.path, `${err.problem} (in stage "${stage.name}")`);
  }
}

/**
 * Check every stage's plugins against a registry, with errors at the stage that names them: a stage's own objective
 * (or a component of its objective mixture) is named at `spec.stages[i].objective...`.
 */
export function validateJobPlugins(job: JobSpec, registry: PluginRegistry): void {
  for (const stage of job.stages) {
    try {
      validateSpecPlugins(stage.spec, registry);
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      if (/^spec\.objective\b/.test(err.path) && stage.objectivePath !== 'spec.objective')
        throw new SpecError(err.path.replace(/^spec\.objective/, stage.objectivePath), err.problem);
      if (job.stages.length === 1) throw err;
      throw new SpecError(err.path, `${err.problem} (in stage "${stage.name}")`);
    }
  }
}

/**
 * The byte tokenizer of a whole job: it reserves the special tokens of every stage's objectives (all components of a
 * mixture), so that every stage sees one vocabulary and a stage can start from the previous stage's parameters even
 * when it adds an objective (span corruption's sentinels after a causal-LM stage). A stage on a prepared dataset uses
 * the dataset's tokenizer instead.
 */
export function jobTokenizer(job: JobSpec, registry: PluginRegistry): ByteTokenizer {
  return new ByteTokenizer(objectiveSpecialTokens(job.stages.map((s) => s.spec.objective), registry));
}

/** The steps of the stages before `index`: where the stage starts on the job's global step axis. */
export function stageStart(job: JobSpec, index: number): number {
  return job.stages.slice(0, index).reduce((n, s) => n + s.spec.train.steps, 0);
}

/** A new seed for a retried stage attempt (attempt 0 keeps the job's seed). */
export function attemptSeed(seed: number, attempt: number): number {
  return attempt === 0 ? seed : (seed ^ Math.imul(attempt, 0x9e3779b1)) >>> 1;
}

