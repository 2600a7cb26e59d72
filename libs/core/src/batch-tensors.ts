import type { AttentionMask, Backend } from './backend/backend.ts';
import type { Tensor } from './backend/tensor.ts';
import type { Batch } from './batch.ts';
import type { Tape } from './autodiff/tape.ts';

/** A Batch uploaded to a backend, owned by the step's tape (released with it). */
export interface BatchTensors {
  batchSize: number;
  seqLen: number;
  tokens: Tensor;
  targets: Tensor;
  lossMask: Tensor;
  positions: Tensor;
  blockPositions?: Tensor;
  /** Self-attention mask of the (decoder) sequence. */
  mask: AttentionMask;
  encoder?: {
    len: number;
    tokens: Tensor;
    positions: Tensor;
    /** Encoder self-attention mask. */
    mask: AttentionMask;
    /** Decoder queries against encoder keys: same segment, every key visible. */
    crossMask: AttentionMask;
  };
}

export function uploadBatch(tape: Tape, batch: Batch): BatchTensors {
  const be: Backend = tape.backend;
  const { batchSize: b, seqLen: t } = batch;
  const i32 = (data: Int32Array, len: number) => tape.own(be.fromArray(data, [b, len], 'i32'));
  const segments = i32(batch.segmentIds, t);
  const out: BatchTensors = {
    batchSize: b,
    seqLen: t,
    tokens: i32(batch.tokens, t),
    targets: i32(batch.targets, t),
    lossMask: tape.own(be.fromArray(batch.lossMask, [b, t], 'f32')),
    positions: i32(batch.positions, t),
    mask: { querySegments: segments, keySegments: segments, prefixEnd: i32(batch.prefixEnd, t) },
  };
  if (batch.blockPositions) out.blockPositions = i32(batch.blockPositions, t);
  if (batch.encoder) {
    const e = batch.encoder;
    const encSegments = i32(e.segmentIds, e.encoderLen);
    out.encoder = {
      len: e.encoderLen,
      tokens: i32(e.tokens, e.encoderLen),
      positions: i32(e.positions, e.encoderLen),
      mask: { querySegments: encSegments, keySegments: encSegments, prefixEnd: i32(e.prefixEnd, e.encoderLen) },
      crossMask: {
        querySegments: segments,
        keySegments: encSegments,
        prefixEnd: i32(new Int32Array(b * t).fill(e.encoderLen), t),
      },
    };
  }
  return out;
}
