import { readFileSync, realpathSync } from 'node:fs';
import { SpecError, decodeCheckpoint, type PluginRegistry } from '@unilab/core';
import { tokenizerFromJSON } from '@unilab/data';
import { generatedCounts, parseAlignmentJobSpec, parseAlignmentJsonl, type AlignmentStagePlan } from '@unilab/eval';
import { architectureGenerates, estimateTraining, parseTrainingSpec, resolveLoraTargets, type TrainingSpec } from '@unilab/runner';
import { formatBytes, formatCount, insideDataDir, jobOutDir, memoryRefusal, type JobAdmission, type Limits } from './admission.ts';
import { ADMITTED_SPEC_VERSION, mapDataFiles, type ResolvedAlignmentJobSpec } from './admitted-spec.ts';

/** Where a finished job's model is: the newest intact checkpoint of a completed or stopped job, or a refusal naming spec.base.job. */
export type FinishedModelOf = (jobId: string) => string;

const INSIDE = "a path inside the server's data directory (relative paths start there)";

/**
 * The checks an alignment job (`kind: "align"`) passes before it is stored, the pre-training jobs' in kind: its spec,
 * its base model (a finished job's newest checkpoint, or a checkpoint file inside the data directory, read to know
 * the model), its data files (inside the data directory, every line parsed now so a bad line is a 400 naming the
 * file's field), its steps, and the server's limits on parameters and training memory (estimated from the base model's
 * config by its architecture, as for pre-training, at each stage's batch). The spec is parsed once, here; its paths are
 * resolved on the typed spec, which is what the job store keeps and the worker runs.
 */
export async function admitAlignmentJob(raw: unknown, jobId: string, registry: PluginRegistry, limits: Limits, finishedModelOf: FinishedModelOf): Promise<JobAdmission> {
  const job = parseAlignmentJobSpec(raw);
  const dataDir = realpathSync(limits.dataDir);
  const base = 'job' in job.base ? finishedModelOf(job.base.job) : insideDataDir(dataDir, job.base.checkpoint, 'spec.base.checkpoint', true, INSIDE);
  const { spec: baseSpec, vocabSize } = readBase(base, registry, 'job' in job.base ? 'spec.base.job' : 'spec.base.checkpoint');
  const stages = job.stages.map((stage) => withLoraTargetsOf(baseSpec, registry, stage));

  let counts = { demonstrations: 0, comparisons: 0 };
  let data = job.data;
  if ('generate' in job.data) counts = generatedCounts(job.data.generate);
  else
    data = {
      files: mapDataFiles(job.data.files, (value, { set, split, field }) => {
        const file = insideDataDir(dataDir, value, field, true, `a JSONL file inside the server's data directory (relative paths start there)`);
        const n = countRecords(file, field, set === 'sft' ? 'response' : 'chosen');
        if (split === 'train') counts[set === 'sft' ? 'demonstrations' : 'comparisons'] = n;
        return file;
      }),
    };

  let steps = 0;
  let totalSteps = 0;
  for (const stage of stages) {
    const stageSteps = plannedSteps(stage, counts);
    totalSteps += stageSteps;
    steps += stageSteps * (stage.gate?.action === 'retry' ? stage.gate.maxRetries + 1 : 1);
    checkMemory(stage, baseSpec, vocabSize, registry, limits);
  }
  if (steps > limits.maxStepsPerJob)
    throw new SpecError('spec.stages', `the job may run ${steps} steps (every stage, with the retries its gates allow); this server allows at most ${limits.maxStepsPerJob} (maxStepsPerJob)`);
  const outDir = jobOutDir(dataDir, jobId, job.outDir);
  const resolved: ResolvedAlignmentJobSpec = { ...job, base: { checkpoint: base }, data, stages, ...(job.outDir !== undefined && { outDir }) };
  return { name: job.name, totalSteps, stageCount: stages.length, runSpec: { specVersion: ADMITTED_SPEC_VERSION, kind: 'align', job: resolved }, outDir };
}

/** The base checkpoint's training spec and vocabulary, from its header; a file that is no model checkpoint is refused. */
function readBase(path: string, registry: PluginRegistry, field: string): { spec: TrainingSpec; vocabSize: number } {
  let state: { spec?: unknown; tokenizer?: Record<string, unknown> };
  try {
    state = decodeCheckpoint(readFileSync(path), 'the base checkpoint').state as typeof state;
  } catch (err) {
    throw new SpecError(field, `expected a unilab model checkpoint: ${(err as Error).message}`);
  }
  if (!state.spec || !state.tokenizer) throw new SpecError(field, 'expected a model checkpoint (its header has no spec and tokenizer); a reward model or a fine-tuned classifier is no base for alignment');
  let spec: TrainingSpec;
  let vocabSize: number;
  try {
    spec = parseTrainingSpec(state.spec);
    vocabSize = tokenizerFromJSON(state.tokenizer).vocabSize;
  } catch (err) {
    throw new SpecError(field, `the checkpoint's header does not describe a model this server can build: ${(err as Error).message}`);
  }
  if (!architectureGenerates(spec.model.architecture, registry)) throw new SpecError(field, `the base is a ${spec.model.architecture} model, which cannot generate a response; align a model that generates`);
  return { spec, vocabSize };
}

/**
 * A LoRA stage with its targets (roles such as "query", or projection names) as the base model's architecture names
 * its projections (its `tunableProjections`), which the worker builds with; one it does not declare is refused at
 * spec.stages[i].tuning.targets[j], naming the architecture and what it declares.
 */
function withLoraTargetsOf(base: TrainingSpec, registry: PluginRegistry, stage: AlignmentStagePlan): AlignmentStagePlan {
  const lora = stage.tuning.lora;
  if (!lora) return stage;
  const targets = resolveLoraTargets(base, registry, lora.targets, `spec.stages[${stage.index}].tuning.targets`);
  return { ...stage, tuning: { ...stage.tuning, lora: { ...lora, targets } } };
}

/** Records of a user's JSONL file, every line validated now; an error names the spec field and the file's line. */
function countRecords(file: string, path: string, needs: 'response' | 'chosen'): number {
  let records;
  try {
    records = parseAlignmentJsonl(readFileSync(file, 'utf8'), path);
  } catch (err) {
    throw new SpecError(path, (err as Error).message.replace(`${path} `, ''));
  }
  const kind = needs === 'response' ? 'demonstration' : 'comparison';
  const wrong = records.findIndex((r) => r.kind !== kind);
  if (wrong >= 0)
    throw new SpecError(path, `record ${wrong + 1} is a ${records[wrong].kind}; this file must hold ${kind === 'demonstration' ? 'demonstrations {"prompt","response"}' : 'comparisons {"prompt","chosen","rejected"}'} only`);
  return records.length;
}

/** A stage's steps: one per batch of its training records, every epoch; PPO's, its iterations. */
function plannedSteps(stage: AlignmentStagePlan, counts: { demonstrations: number; comparisons: number }): number {
  if (stage.kind === 'ppo') return (stage as AlignmentStagePlan<'ppo'>).options.iterations;
  const o = stage.options as { epochs: number; batchSize: number };
  const n = stage.kind === 'sft' ? counts.demonstrations : counts.comparisons;
  return Math.ceil(n / o.batchSize) * o.epochs;
}

/**
 * Training memory of a stage: the base model's footprint at the rows a step runs (SFT one per demonstration; the
 * reward model and DPO two per comparison; PPO one per response of a minibatch), as pre-training estimates it, plus
 * what PPO holds beside its policy: the value model (trained: weights, gradients, moments) and the frozen reference
 * and reward model (weights).
 */
function checkMemory(stage: AlignmentStagePlan, base: TrainingSpec, vocabSize: number, registry: PluginRegistry, limits: Limits): void {
  const rows =
    stage.kind === 'ppo'
      ? (stage as AlignmentStagePlan<'ppo'>).options.minibatchSize
      : stage.kind === 'sft'
        ? (stage.options as { batchSize: number }).batchSize
        : 2 * (stage.options as { batchSize: number }).batchSize;
  const spec = { ...base, train: { ...base.train, batchSize: rows } };
  const footprint = estimateTraining(spec, registry, vocabSize);
  const where = `spec.stages[${stage.index}]`;
  if (footprint === null) {
    if (limits.admitUnestimatedArchitectures) return;
    throw new SpecError(
      'spec.base',
      `the base model's architecture "${base.model.architecture}" cannot estimate its size and training memory; this server admits such architectures only with admitUnestimatedArchitectures`,
    );
  }
  if (footprint.parameters > limits.maxParameters)
    throw new SpecError('spec.base', `the base model has about ${formatCount(footprint.parameters)} parameters; this server allows at most ${formatCount(limits.maxParameters)} (maxParameters)`);
  const frozen = stage.kind === 'ppo' ? footprint.weightsAndOptimizer + 2 * 4 * footprint.parameters : 0;
  const total = { ...footprint, total: footprint.total + frozen };
  if (total.total > limits.maxJobMemoryBytes) {
    const refusal = memoryRefusal(total, { batchSize: rows, seqLen: base.train.seqLen }, where, limits.maxJobMemoryBytes);
    const batchField = stage.kind === 'ppo' ? `${where}.minibatchSize` : `${where}.batchSize`;
    const field = refusal.path === 'spec.model.config' ? 'spec.base' : batchField;
    const problem = refusal.problem.replaceAll(`${where}.train.batchSize`, stage.kind === 'sft' || stage.kind === 'ppo' ? batchField : `${batchField} (x2 rows for comparisons)`);
    throw new SpecError(field, `${problem}${frozen ? `; with ${formatBytes(frozen)} more for PPO's value model and its frozen reference and reward model` : ''}`);
  }
}
