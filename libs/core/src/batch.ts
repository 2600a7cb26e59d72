/**
 * The Batch is the contract between objectives and architectures: an objective produces it from token streams
 * without knowing the model, and a model consumes it without knowing which objective made it.
 *
 * Every per-position array is row-major [batchSize, seqLen] (index b * seqLen + t).
 *
 * Attention masks travel as per-position descriptors, never as dense matrices. Query i may attend to key j iff
 *   segmentIds[i] == keySegmentIds[j]  and  (j <= i  or  j < prefixEnd[i]).
 * One rule covers causal (prefixEnd = 0), prefix-LM (prefixEnd = length of the prefix), fully bidirectional
 * (prefixEnd = seqLen), packed documents (distinct segment ids per document) and GLM's Part A / Part B.
 * Padding gets segment id PAD_SEGMENT and a loss mask of 0.
 */
export const PAD_SEGMENT = -1;

export interface EncoderInputs {
  /** Encoder token ids [batchSize, encoderLen]. */
  tokens: Int32Array;
  encoderLen: number;
  /** Per-position segment ids of the encoder sequence [batchSize, encoderLen]; decoder queries see encoder keys of equal id. */
  segmentIds: Int32Array;
  /** Encoder self-attention prefix ends [batchSize, encoderLen]; encoderLen everywhere for a bidirectional encoder. */
  prefixEnd: Int32Array;
  /** Encoder positions [batchSize, encoderLen]. */
  positions: Int32Array;
}

export interface Batch {
  batchSize: number;
  seqLen: number;
  /** Input token ids [batchSize, seqLen]. */
  tokens: Int32Array;
  /** Target token ids [batchSize, seqLen]; any value where lossMask is 0. */
  targets: Int32Array;
  /** 1 where the target counts toward the loss, 0 elsewhere [batchSize, seqLen]. */
  lossMask: Float32Array;
  /** Document / segment id per position [batchSize, seqLen]. */
  segmentIds: Int32Array;
  /** Per-query bidirectional horizon [batchSize, seqLen], see the rule above. */
  prefixEnd: Int32Array;
  /** Position ids [batchSize, seqLen] (the first dimension of GLM's 2D positions). */
  positions: Int32Array;
  /** GLM's second position dimension (intra-span block position) [batchSize, seqLen], when the objective makes one. */
  blockPositions?: Int32Array;
  /** Inputs for an encoder, for encoder-decoder architectures. */
  encoder?: EncoderInputs;
}

/** Number of positions whose target counts toward the loss. */
export function countTargets(batch: Batch): number {
  let n = 0;
  for (let i = 0; i < batch.lossMask.length; i++) n += batch.lossMask[i];
  return n;
}
