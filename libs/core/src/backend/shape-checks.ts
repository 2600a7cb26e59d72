import type { AttentionMask, AttentionOptions } from './backend.ts';
import { shapeString, sizeOf, type Tensor } from './tensor.ts';

/**
 * The shape checks every backend makes before it runs an op, in one place (as burn checks shapes in its tensor layer,
 * not in each backend): the reference, WASM and WebGPU backends refuse the same inputs with the same message.
 */

export function expectSameSize(a: Tensor, b: Tensor, op: string): void {
  if (a.size !== b.size) throw new RangeError(`${op}: shapes ${shapeString(a.shape)} and ${shapeString(b.shape)} differ`);
}

/** x's last dimension must be n; `input` names x in the message when the op has several inputs. */
export function expectLastDim(x: Tensor, n: number, op: string, input?: string): void {
  if (x.shape[x.shape.length - 1] !== n) throw new RangeError(`${op}: last dimension of ${input ? `${input} ` : ''}${shapeString(x.shape)} must be ${n}`);
}

/**
 * A matmul's sizes: each operand viewed as 2-D [rows, last dim] (transposed when asked), C [m, n] keeping a's
 * leading dims when a is not transposed. An empty operand is allowed (C is then zeros).
 */
export function matmulDims(a: Tensor, b: Tensor, transA: boolean, transB: boolean, op = 'matmul'): { m: number; k: number; n: number; outShape: number[] } {
  const aCols = a.shape[a.shape.length - 1] ?? 1;
  const aRows = sizeOf(a.shape.slice(0, -1));
  const bCols = b.shape[b.shape.length - 1] ?? 1;
  const bRows = sizeOf(b.shape.slice(0, -1));
  const [m, k] = transA ? [aCols, aRows] : [aRows, aCols];
  const [kb, n] = transB ? [bCols, bRows] : [bRows, bCols];
  if (k !== kb)
    throw new RangeError(`${op}: inner dimensions differ: a ${shapeString(a.shape)}${transA ? 'ᵀ' : ''} · b ${shapeString(b.shape)}${transB ? 'ᵀ' : ''}`);
  return { m, k, n, outShape: transA ? [m, n] : [...a.shape.slice(0, -1), n] };
}

/** Attention's sizes: q [B, Tq, H, D], k and v [B, Tk, Hkv, D] with Hkv dividing H, mask descriptors, bias [H, Tq, Tk]. */
export function attentionDims(
  op: string,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: AttentionMask,
  options: AttentionOptions,
): { b: number; tq: number; tk: number; h: number; hkv: number; d: number } {
  if (q.shape.length !== 4 || k.shape.length !== 4)
    throw new RangeError(`${op}: q and k must be [B, T, H, D], got ${shapeString(q.shape)} and ${shapeString(k.shape)}`);
  const [b, tq, h, d] = q.shape;
  const [bk, tk, hkv, dk] = k.shape;
  if (bk !== b || dk !== d || hkv === 0 || h % hkv !== 0 || v.size !== k.size)
    throw new RangeError(`${op}: q ${shapeString(q.shape)}, k ${shapeString(k.shape)}, v ${shapeString(v.shape)} do not fit`);
  if (mask.querySegments.size !== b * tq || mask.prefixEnd.size !== b * tq || mask.keySegments.size !== b * tk)
    throw new RangeError(`${op}: mask descriptors must be [${b}, ${tq}] for queries and [${b}, ${tk}] for keys`);
  if (options.bias && options.bias.size !== h * tq * tk)
    throw new RangeError(`${op}: bias must be [${h}, ${tq}, ${tk}], got ${shapeString(options.bias.shape)}`);
  return { b, tq, tk, h, hkv, d };
}

/** RoPE's sizes: x [B, T, H, D], positions (and GLM's blockPositions) [B, T]; 2D rotary needs D divisible by 4. */
export function ropeDims(x: Tensor, positions: Tensor, blockPositions?: Tensor): { b: number; t: number; h: number; d: number } {
  if (x.shape.length !== 4) throw new RangeError(`rope: x must be [B, T, H, D], got ${shapeString(x.shape)}`);
  const [b, t, h, d] = x.shape;
  if (positions.size !== b * t) throw new RangeError(`rope: positions ${shapeString(positions.shape)} do not match x ${shapeString(x.shape)}`);
  if (blockPositions && blockPositions.size !== b * t)
    throw new RangeError(`rope: blockPositions ${shapeString(blockPositions.shape)} do not match x ${shapeString(x.shape)}`);
  if (blockPositions && d % 4 !== 0) throw new RangeError(`rope: 2D rotary needs a head size divisible by 4, got ${d}`);
  return { b, t, h, d };
}
