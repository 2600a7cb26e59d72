import type { Batch } from '../batch.ts';
import type { Schema } from '../config/schema.ts';
import type { Rng } from '../rng.ts';
import type { BatchForm, BatchProduction } from './capabilities.ts';
import type { InferencePresentation } from './inference-layout.ts';

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
  /** The form of the batches to make (the model's ArchitecturePlugin.consumes.form); objectives with two forms branch on it. */
  form: BatchForm;
}

/** Produces batches one after another; its state (RNG, stream cursor, carried-over tokens) is JSON for checkpoints. */
export interface Batcher {
  next(): Batch;
  state(): unknown;
  restore(state: unknown): void;
}

/**
 * An objective is a pure, seeded function from a document stream to batches. It never sees the model.
 * Plain object, seqio/Vite style: no classes to inherit, no side effects on import.
 */
export interface ObjectivePlugin<C = Record<string, unknown>> {
  readonly kind: 'objective';
  readonly name: string;
  readonly description: string;
  readonly configSchema: Schema<C>;
  /** What its batches hold: the architectures it can train follow from their declarations (capabilities.ts). */
  readonly produces: BatchProduction;
  /** Special tokens the tokenizer must reserve for this objective (beyond eos and pad). */
  readonly specialTokens: readonly string[];
  /**
   * Decoder positions per row the encoder-decoder form needs for encoder rows of `encoderLen` (T5's
   * `random_spans_helper`: span corruption's targets are much shorter than its inputs, 512 → 114). Absent: as many
   * as the encoder. The runner sizes the decoder rows by it, so an encoder-decoder does not pay for padded targets.
   */
  decoderLength?(config: C, encoderLen: number): number;
  createBatcher(config: C, context: ObjectiveContext, documents: DocumentStream, rng: Rng): Batcher;
  /**
   * How a model this objective trained with batches of `form` reads prompts at inference (inference-layout.ts): the
   * format of its own batches. Optional, so plugins written before it still load; evaluation then names what is missing.
   */
  inference?(config: C, form: BatchForm): InferencePresentation;
}
