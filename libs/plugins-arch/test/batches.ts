import { PAD_SEGMENT, Rng, type Batch } from '@unilab/core';

/**
 * Packed multi-document batches for the architecture tests, built from explicit example layouts rather than by the
 * objectives, so each test states the attention it expects in the papers' terms.
 *
 * An example has a mask mode:
 *   causal         query i sees keys j <= i of its example (GPT; UniLM left-to-right, and right-to-left over the
 *                  reversed example)
 *   bidirectional  every key of its example (BERT; UniLM bidirectional)
 *   prefix         keys of the first `prefix` tokens, and j <= i (T5's prefix LM; UniLM seq2seq; GLM Part A / Part B)
 */
export type Mode = { kind: 'causal' } | { kind: 'bidirectional' } | { kind: 'prefix'; prefix: number };

export interface ExampleLayout {
  length: number;
  mode: Mode;
  /** Default 0, 1, 2, .... */
  positions?: number[];
  blockPositions?: number[];
  /** Encoder-decoder examples: the encoder's length (bidirectional over its example). */
  encoderLength?: number;
}

/** May query i see key j of the same example (offsets within the example)? The modes' definitions. */
export function visibleInExample(mode: Mode, i: number, j: number): boolean {
  if (mode.kind === 'bidirectional') return true;
  if (mode.kind === 'causal') return j <= i;
  return j < mode.prefix || j <= i;
}

export interface PackedBatch {
  batch: Batch;
  /** Per row, the examples with their start offsets. */
  rows: { start: number; encoderStart: number; layout: ExampleLayout }[][];
}

/** Pack rows of examples into one batch (padding after them), with random tokens and targets below `vocab`. */
export function packBatch(rows: ExampleLayout[][], seqLen: number, vocab: number, seed: number, encoderLen = 0): PackedBatch {
  const rng = new Rng(seed);
  const b = rows.length;
  const size = b * seqLen;
  const batch: Batch = {
    batchSize: b,
    seqLen,
    tokens: Int32Array.from({ length: size }, () => rng.int(vocab)),
    targets: Int32Array.from({ length: size }, () => rng.int(vocab)),
    lossMask: new Float32Array(size),
    segmentIds: new Int32Array(size).fill(PAD_SEGMENT),
    prefixEnd: new Int32Array(size),
    positions: new Int32Array(size),
  };
  if (rows.some((r) => r.some((e) => e.blockPositions))) batch.blockPositions = new Int32Array(size);
  if (encoderLen > 0) {
    const encoderSize = b * encoderLen;
    batch.encoder = {
      tokens: Int32Array.from({ length: encoderSize }, () => rng.int(vocab)),
      encoderLen,
      segmentIds: new Int32Array(encoderSize).fill(PAD_SEGMENT),
      prefixEnd: new Int32Array(encoderSize),
      positions: new Int32Array(encoderSize),
    };
  }
  const placed = rows.map((examples, row) => {
    let start = 0;
    let encoderStart = 0;
    return examples.map((layout, segment) => {
      if (start + layout.length > seqLen) throw new Error('examples overflow the row');
      for (let k = 0; k < layout.length; k++) {
        const at = row * seqLen + start + k;
        batch.segmentIds[at] = segment;
        batch.lossMask[at] = 1;
        batch.positions[at] = layout.positions?.[k] ?? k;
        if (batch.blockPositions) batch.blockPositions[at] = layout.blockPositions?.[k] ?? 0;
        // The Batch's rule: j <= i or j < prefixEnd[i], with prefixEnd counted from the row start.
        const mode = layout.mode;
        batch.prefixEnd[at] = mode.kind === 'causal' ? 0 : mode.kind === 'bidirectional' ? start + layout.length : start + mode.prefix;
      }
      const e = batch.encoder;
      if (e && layout.encoderLength) {
        for (let k = 0; k < layout.encoderLength; k++) {
          const at = row * encoderLen + encoderStart + k;
          e.segmentIds[at] = segment;
          e.prefixEnd[at] = encoderStart + layout.encoderLength;
          e.positions[at] = k;
        }
      }
      const entry = { start, encoderStart, layout };
      start += layout.length;
      encoderStart += layout.encoderLength ?? 0;
      return entry;
    });
  });
  for (let i = 0; i < size; i++) if (batch.segmentIds[i] === PAD_SEGMENT) batch.lossMask[i] = 0;
  return { batch, rows: placed };
}

/** The example (and offset in it) at a row position, or null in padding. */
export function exampleAt(packed: PackedBatch, row: number, t: number): { index: number; offset: number; layout: ExampleLayout } | null {
  const examples = packed.rows[row];
  for (let index = 0; index < examples.length; index++) {
    const { start, layout } = examples[index];
    if (t >= start && t < start + layout.length) return { index, offset: t - start, layout };
  }
  return null;
}

/** GLM blank infilling (Du et al. 2022 Fig. 2): Part A of `partA` tokens, then spans of the given lengths in Part B. */
export function glmExample(partA: number, maskPositions: number[], spanLengths: number[]): ExampleLayout {
  const positions = Array.from({ length: partA }, (_, i) => i);
  const blockPositions = Array.from({ length: partA }, () => 0);
  spanLengths.forEach((len, s) => {
    for (let k = 0; k <= len; k++) {
      positions.push(maskPositions[s]);
      blockPositions.push(k + 1);
    }
  });
  return { length: positions.length, mode: { kind: 'prefix', prefix: partA }, positions, blockPositions };
}
