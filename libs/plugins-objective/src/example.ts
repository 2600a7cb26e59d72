/**
 * One training example before packing: what a single segment of a row holds. Objectives build examples from
 * document pieces; the packer (packing.ts) lays them side by side in rows and gives each its own segment id.
 * All arrays of the decoder (or only) stack have the same length.
 */
export interface Example {
  /** Input token ids. */
  tokens: number[];
  /** Target token ids (any value where lossMask is 0). */
  targets: number[];
  /** 1 where the target counts toward the loss. */
  lossMask: number[];
  /** Position ids, counted from the start of the example. */
  positions: number[];
  /** GLM's intra-span positions, for objectives that make them. */
  blockPositions?: number[];
  /**
   * Bidirectional horizon measured from the start of the example, the same for every query of the example:
   * 0 is causal, the input length makes a prefix LM, the example length makes it fully bidirectional.
   */
  prefixEnd: number;
  /** Encoder input ids, for encoder-decoder examples; the encoder sees them bidirectionally, positions 0, 1, ... */
  encoderTokens?: number[];
}

/** Room left in the row being filled, in tokens. */
export interface RowSpace {
  decoder: number;
  /** 0 when the batches have no encoder. */
  encoder: number;
}

/** Positions 0, 1, ..., length - 1. */
export function countingPositions(length: number): number[] {
  return Array.from({ length }, (_, i) => i);
}

