import type { Batch } from '../batch.ts';
import type { Schema } from '../config/schema.ts';
import type { Rng } from '../rng.ts';

/** One tokenized document (no special tokens added yet: objectives add the ones they need). */
export interface TokenDocument {
  tokens: Int32Array;
}

/**
 * An endless, deterministic stream of documents (it wraps around the corpus). Its cursor is plain JSON so a
 * checkpoint can store it and a resumed run reads the same documents.
 */
export interface DocumentStream {
  next(): TokenDocument;
  cursor(): unknown;
  seek(cursor: unknown): void;
}

export interface ObjectiveContext {
  batchSize: number;
  /** Decoder (or only) sequence length. */
  seqLen: number;
  /** Encoder sequence length, for encoder-decoder batches. */
  encoderLen?: number;
  vocabSize: number;
  /** Ids of the special tokens the objective declared, plus "eos" and "pad" which every tokenizer has. */
  specialTokens: Readonly<Record<string, number>>;
  /** The architecture the batches are for; objectives with two forms (decoder-only vs encoder-decoder) branch on it. */
  architecture: string;
}

/** Produces batches one after another; its state (RNG, stream cursor, carried-over tokens) is JSON for checkpoints. */
export interface Batcher {
  next(): Batch;
  state(): unknown;
  restore(state: unknown): void;
}

/**
 * How a model trained on an objective is given a prompt at inference time, in the layout of its training examples
 * (UL2 §3.1.3 and Tay et al.'s point that a model should be prompted the way it was trained). Token names are special
 * tokens the objective declared. Generation and scoring read this declaration; they never list objectives by name.
 * - continuation: plain text continued token by token (causal LM). An encoder-decoder reads only eos in its encoder
 *   (T5's empty input, as SCLM's and UniLM's left-to-right examples) and continues the text in its decoder.
 * - input-target: an input ended by eos and read bidirectionally, then the target (decoder-only: one sequence with
 *   the input as prefix; encoder-decoder: the encoder reads the input, the decoder starts from pad). `modes` maps
 *   UL2's paradigm names to the special token that leads the input; `defaultMode` is used when none is asked for.
 * - cloze: UniLM's decoder-only generation (Dong et al. 2019 §2.4): input eos read bidirectionally, then each target
 *   token predicted at a `mask` token appended after the target so far, which the prediction then replaces.
 * - blank-infilling: GLM (Du et al. 2022 §2.3): Part A = input + `mask` (bidirectional); the answer follows `start`
 *   at the mask's position with block positions 1, 2, ... and ends at `end`.
 */
export type InferenceLayout =
  | { kind: 'continuation' }
  | { kind: 'input-target'; modes?: Readonly<Record<string, string>>; defaultMode?: string }
  | { kind: 'cloze'; mask: string }
  | { kind: 'blank-infilling'; mask: string; start: string; end: string };

/**
 * An objective is a pure, seeded function from a document stream to batches. It never sees the model.
 * Plain object, seqio/Vite style: no classes to inherit, no side effects on import.
 */
export interface ObjectivePlugin<C = Record<string, unknown>> {
  readonly kind: 'objective';
  readonly name: string;
  readonly description: string;
  readonly configSchema: Schema<C>;
  /** Architectures whose batches this objective can make (names of architecture plugins). */
  readonly architectures: readonly string[];
  /** Special tokens the tokenizer must reserve for this objective (beyond eos and pad). */
  readonly specialTokens: readonly string[];
  createBatcher(config: C, context: ObjectiveContext, documents: DocumentStream, rng: Rng): Batcher;
  /** How its models read a prompt at inference, for this config and architecture (absent: continuation). */
  inferenceLayout?(config: C, architecture: string): InferenceLayout;
}
