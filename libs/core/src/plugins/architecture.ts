import type { Tape, Var } from '../autodiff/tape.ts';
import type { Backend } from '../backend/backend.ts';
import type { Schema } from '../config/schema.ts';
import type { AdapterSpec } from '../nn/bottleneck-adapter.ts';
import type { LoraSpec } from '../nn/lora.ts';
import type { Parameter } from '../nn/parameter.ts';
import type { Rng } from '../rng.ts';
import type { BatchTensors } from '../batch-tensors.ts';
import type { DecodingSession, DecodingStart } from './incremental-decoding.ts';
import type { BatchConsumption } from './capabilities.ts';
import type { ModelReadings } from './model-readings.ts';
import type { TunableProjection } from './tunable-projections.ts';
import type { AttentionPattern, PositionalEncodingPlugin } from './positional-encoding.ts';

export interface ModelEnvironment {
  backend: Backend;
  vocabSize: number;
  /** Initialisation randomness. */
  rng: Rng;
  /** The registry's positional encodings, for architectures whose config names one (absent: the architecture's own). */
  positionalEncoding?(name: string): PositionalEncodingPlugin<any>;
  /**
   * Modules to add for parameter-efficient fine-tuning of a pre-trained network: LoRA factors on the named
   * projections (core/nn/lora.ts), bottleneck adapters after every attention and feed-forward sublayer
   * (core/nn/bottleneck-adapter.ts). LoRA's targets are parameter names the architecture declared in
   * `tunableProjections` (the runner resolves roles to them before building). Their parameters are in Model.params
   * beside the pre-trained ones, which a checkpoint then fills; which of them train is the optimizer's choice, not
   * the model's.
   */
  tuning?: TuningModules;
}

export interface TuningModules {
  lora?: LoraSpec;
  adapters?: AdapterSpec;
  /** Seeds the added modules' initialisation (their own stream: the pre-trained weights draw as without them). */
  seed: number;
}

/**
 * A built model: its parameters and a forward from batch tensors to logits. Its optional readings (model-readings.ts:
 * hidden states, attention sites) are what the analysis and evaluation tools read.
 */
export interface Model extends ModelReadings {
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
  /**
   * How the model reads the batch's mask, the widest of its stacks: 'causal' ignores prefixEnd (every query sees keys
   * j <= i only: T5's "Language model", Raffel et al. 2020 §3.2.1), 'mixed' follows it (prefix LM, UniLM, GLM),
   * 'bidirectional' has a stack that sees every key of the segment (an encoder). Spec validation pairs positional
   * encodings by it (an encoding without positions needs a causal mask). Absent: 'mixed'.
   */
  readonly attention?: AttentionPattern;
  /** What its model reads from a batch: objectives and encodings are paired with it by this (capabilities.ts). */
  readonly consumes: BatchConsumption;
  create(config: C, env: ModelEnvironment): Model;
  /**
   * The linear projections LoRA may adapt in a model of this config, each by role with the last part of its weights'
   * names (tunable-projections.ts). Optional: an architecture without it trains, and is refused LoRA by name.
   */
  tunableProjections?(config: C): readonly TunableProjection[];
  /**
   * Its size and training memory for a config, without building it. Optional, but the job API admits an architecture
   * without it only where its operator allows unestimated architectures (see apps/api/README.md).
   */
  footprint?(config: C, env: FootprintEnvironment): TrainingFootprint;
  /**
   * Training FLOPs (forward and backward) of one row as the kernels compute it, padding included: env.seqLen
   * positions, or for an encoder-decoder env.seqLen encoder and `decoderLen` decoder positions. Optional: runs and
   * sweeps report FLOPs only for architectures that give it.
   */
  rowTrainingFlops?(config: C, env: FootprintEnvironment & { decoderLen?: number }): number;
}
