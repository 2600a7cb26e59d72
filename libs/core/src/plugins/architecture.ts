import type { Tape, Var } from '../autodiff/tape.ts';
import type { Backend } from '../backend/backend.ts';
import type { Schema } from '../config/schema.ts';
import type { Parameter } from '../nn/parameter.ts';
import type { Rng } from '../rng.ts';
import type { BatchTensors } from '../batch-tensors.ts';
import type { DecodingSession, DecodingStart } from './incremental-decoding.ts';
import type { PositionalEncodingPlugin } from './positional-encoding.ts';

export interface ModelEnvironment {
  backend: Backend;
  vocabSize: number;
  /** Initialisation randomness. */
  rng: Rng;
  /** The registry's positional encodings, for architectures whose config names one (absent: the architecture's own). */
  positionalEncoding?(name: string): PositionalEncodingPlugin<any>;
}

/** A built model: its parameters and a forward from batch tensors to logits. */
export interface Model {
  readonly architecture: string;
  /** The validated config (JSON), stored in checkpoints so the model can be rebuilt. */
  readonly config: Record<string, unknown>;
  readonly params: readonly Parameter[];
  /** Logits [batchSize, seqLen, vocabSize] for the batch's (decoder) positions. */
  forward(tape: Tape, batch: BatchTensors): Var;
  /**
   * Optional: a key/value-cached decoding session (incremental-decoding.ts) whose logits equal the forward's, or null
   * when this model cannot decode incrementally (e.g. its positional encoding gives no bias rows). Generation and
   * scoring fall back to re-running forward over the whole sequence when a model has no such method or returns null.
   */
  startDecoding?(start: DecodingStart): DecodingSession | null;
}

/** What a training estimate is for: the vocabulary and one step's batch (the same inputs as `unilab describe`). */
export interface FootprintEnvironment {
  vocabSize: number;
  seqLen: number;
  batchSize: number;
  /** The registry's positional encodings, as in ModelEnvironment. */
  positionalEncoding?(name: string): PositionalEncodingPlugin<any>;
}

/**
 * Parameters and peak training memory of a config in f32 with AdamW, in closed form: nothing is allocated, so a
 * server can refuse a model too large for it before a single buffer exists.
 */
export interface TrainingFootprint {
  parameters: number;
  /** Bytes for weights, gradients and the two AdamW moments (16 per parameter). */
  weightsAndOptimizer: number;
  /** Bytes of activations the tape keeps for the backward at batchSize x seqLen. */
  activations: number;
  /** weightsAndOptimizer + activations. */
  total: number;
}

/**
 * An architecture is a plain object: a name, a config schema and a builder. The model it builds reads the Batch's
 * mask descriptors and positions; it never knows which objective produced them.
 */
export interface ArchitecturePlugin<C = Record<string, unknown>> {
  readonly kind: 'architecture';
  readonly name: string;
  readonly description: string;
  readonly configSchema: Schema<C>;
  create(config: C, env: ModelEnvironment): Model;
  /**
   * Its size and training memory for a config, without building it. Optional, but the job API admits an architecture
   * without it only where its operator allows unestimated architectures (see apps/api/README.md).
   */
  footprint?(config: C, env: FootprintEnvironment): TrainingFootprint;
}
