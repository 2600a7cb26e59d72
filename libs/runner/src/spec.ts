import { MATMUL_PRECISIONS, SpecError, arrayOf, field, integer, json, number, object, oneOf, optional, string } from '@unilab/core';
import { DEFAULT_MAX_DOCUMENT_BYTES } from '@unilab/data';
import { objectiveSpecSchema, type ObjectiveSpec } from './objective-mixture.ts';

/**
 * The training spec: a JSON file (or API body) validated at the edge. Every field has a sensible default except
 * where a choice matters; an unknown or malformed field is refused with its path and what is allowed.
 */
const dataSchema = object({
  /** "sotu" or "brown" (bundled npm corpora) or a path to a .txt file / directory of .txt files. */
  corpus: field(string({ nonEmpty: true }), 'sotu'),
  /** A corpus document (a file, or a line of a one-file corpus) longer than this is reported and skipped, never held. */
  maxDocumentBytes: field(integer({ min: 1024, max: 2 ** 30 }), DEFAULT_MAX_DOCUMENT_BYTES),
  heldOutFraction: field(number({ min: 0, max: 0.5 }), 0.05),
  tokenizer: field(oneOf(['byte'] as const), 'byte'),
  /** A dataset prepared by `unilab data` (its directory); when set it replaces corpus, and its tokenizer is used. */
  shards: optional(string({ nonEmpty: true })),
  /** Bytes of documents a stream over `shards` holds for shuffling: data memory stays within it whatever the dataset's size. */
  shardWindowBytes: field(integer({ min: 4096, max: 2 ** 32 }), 32 << 20),
});

const modelSchema = object({
  architecture: field(string({ nonEmpty: true }), 'decoder'),
  /** Validated by the architecture plugin's own schema. */
  config: field(json(), {}),
});


const trainSchema = object({
  steps: field(integer({ min: 1, max: 10_000_000 }), 500),
  batchSize: field(integer({ min: 1, max: 4096 }), 16),
  seqLen: field(integer({ min: 2, max: 65536 }), 128),
  /**
   * Decoder positions per row of an encoder-decoder, whose encoder rows hold seqLen tokens. Absent: what the objective
   * needs (T5's random_spans_helper for span corruption: 512 → 114; seqLen for the others). One-stack models refuse it.
   */
  decoderLen: optional(integer({ min: 2, max: 65536 })),
  gradAccum: field(integer({ min: 1, max: 1024 }), 1),
  lr: field(number({ greaterThan: 0, max: 1 }), 3e-3),
  minLr: field(number({ min: 0, max: 1 }), 3e-4),
  schedule: field(oneOf(['cosine', 'wsd', 'constant'] as const), 'cosine'),
  warmupSteps: field(integer({ min: 0 }), 50),
  /** wsd: fraction of the steps spent in the final decay. */
  decayFraction: field(number({ min: 0, max: 1 }), 0.2),
  weightDecay: field(number({ min: 0, max: 1 }), 0.1),
  beta1: field(number({ min: 0, max: 1 }), 0.9),
  beta2: field(number({ min: 0, max: 1 }), 0.95),
  eps: field(number({ greaterThan: 0, max: 1 }), 1e-8),
  clipNorm: field(number({ min: 0 }), 1.0),
  evalEvery: field(integer({ min: 0 }), 100),
  evalBatches: field(integer({ min: 1, max: 1000 }), 8),
  checkpointEvery: field(integer({ min: 0 }), 200),
});

export const trainingSpecSchema = object({
  name: field(string({ nonEmpty: true }), 'run'),
  seed: field(integer({ min: 0, max: 2 ** 31 - 1 }), 1234),
  backend: field(oneOf(['wasm', 'reference', 'webgpu'] as const), 'wasm'),
  /**
   * What the linear layers' matmuls compute in: "f32", or "bf16-matmul" (operands rounded to bfloat16, sums in f32;
   * the wasm backend's mode, docs/PERFORMANCE.md "bf16 mixed precision"). A field of the spec so that the checkpoint,
   * which stores the spec, resumes in the same numerics.
   */
  precision: field(oneOf(MATMUL_PRECISIONS), 'f32'),
  data: field(dataSchema, dataSchema.parse({}, 'data')),
  model: field(modelSchema, modelSchema.parse({}, 'model')),
  /** One objective ({ name, config }) or a mixture ({ mixture: [{ name, config, weight }] }): see objective-mixture.ts. */
  objective: field(objectiveSpecSchema, { name: 'clm', config: {} } as ObjectiveSpec),
  train: field(trainSchema, trainSchema.parse({}, 'train')),
  /** Where checkpoints and the run log go (relative to the working directory). */
  outDir: optional(string({ nonEmpty: true })),
  /** Sample prompts printed with the final report. */
  samplePrompts: field(arrayOf(string()), ['The people of the United States']),
});

export type TrainingSpec = ReturnType<typeof trainingSpecSchema.parse>;

/** Validate a spec; the error names the bad field as a path from the spec root (e.g. `spec.train.lr`). */
export function parseTrainingSpec(value: unknown): TrainingSpec {
  const spec = trainingSpecSchema.parse(value, 'spec');
  if (spec.precision !== 'f32' && spec.backend !== 'wasm')
    throw new SpecError('spec.precision', `${spec.precision} is the wasm backend's mode; backend "${spec.backend}" computes in f32 (use backend "wasm" or precision "f32")`);
  if (spec.train.minLr > spec.train.lr) throw new SpecError('spec.train.minLr', `must not exceed train.lr (${spec.train.lr})`);
  if (spec.train.warmupSteps > spec.train.steps)
    throw new SpecError('spec.train.warmupSteps', `must not exceed train.steps (${spec.train.steps})`);
  return spec;
}
