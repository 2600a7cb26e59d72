import { PAD_SEGMENT, type Batch } from '@unilab/core';

/** What one row of an inference batch holds (a ContinuationRow, an infilling row, ...). */
export interface InferenceRow {
  tokens: readonly number[];
  positions: readonly number[];
  blockPositions?: readonly number[];
  /** Bidirectional horizon of the row: query i sees key j iff j <= i or j < prefixEnd. */
  prefixEnd: number;
  encoderTokens?: readonly number[];
}

/**
 * Rows side by side in one Batch, each its own segment 0, the tails padded (pad token, PAD_SEGMENT, no loss) to the
 * longest row, as the objectives' packer pads. Targets and loss mask are left empty: inference reads the logits.
 */
export function rowsToBatch(rows: readonly InferenceRow[], pad: number): Batch {
  if (rows.length === 0) throw new Error('rowsToBatch: no rows');
  const withEncoder = rows[0].encoderTokens !== undefined;
  if (rows.some((r) => (r.encoderTokens !== undefined) !== withEncoder)) throw new Error('rowsToBatch: rows with and without encoder inputs cannot share a batch');
  const withBlocks = rows.some((r) => r.blockPositions !== undefined);
  const b = rows.length;
  const t = Math.max(...rows.map((r) => r.tokens.length));
  const batch: Batch = {
    batchSize: b,
    seqLen: t,
    tokens: new Int32Array(b * t).fill(pad),
    targets: new Int32Array(b * t).fill(pad),
    lossMask: new Float32Array(b * t),
    segmentIds: new Int32Array(b * t).fill(PAD_SEGMENT),
    prefixEnd: new Int32Array(b * t),
    positions: new Int32Array(b * t),
  };
  if (withBlocks) batch.blockPositions = new Int32Array(b * t);
  rows.forEach((row, r) => {
    for (let i = 0; i < row.tokens.length; i++) {
      const at = r * t + i;
      batch.tokens[at] = row.tokens[i];
      batch.segmentIds[at] = 0;
      batch.prefixEnd[at] = row.prefixEnd;
      batch.positions[at] = row.positions[i];
      if (batch.blockPositions) batch.blockPositions[at] = row.blockPositions?.[i] ?? 0;
    }
  });
  if (withEncoder) {
    const e = Math.max(...rows.map((r) => r.encoderTokens!.length));
    batch.encoder = {
      tokens: new Int32Array(b * e).fill(pad),
      encoderLen: e,
      segmentIds: new Int32Array(b * e).fill(PAD_SEGMENT),
      prefixEnd: new Int32Array(b * e),
      positions: new Int32Array(b * e),
    };
    rows.forEach((row, r) => {
      const source = row.encoderTokens!;
      for (let i = 0; i < source.length; i++) {
        const at = r * e + i;
        batch.encoder!.tokens[at] = source[i];
        batch.encoder!.segmentIds[at] = 0;
        batch.encoder!.prefixEnd[at] = source.length;
        batch.encoder!.positions[at] = i;
      }
    });
  }
  return batch;
}
