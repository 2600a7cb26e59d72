export type DType = 'f32' | 'i32';

/**
 * A handle to memory owned by a backend (a JavaScript array, WASM linear memory, a GPU buffer). Models and the
 * autodiff only ever hold handles; values come back to JavaScript through the asynchronous `Backend.read`.
 */
export interface Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** Name of the backend that owns the memory. */
  readonly backend: string;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** The checks every backend's copyInto makes (shared, so each backend says the same thing). */
export function checkCopy(dst: Tensor, src: Tensor, dstOffset: number): void {
  if (dst.dtype !== src.dtype) throw new TypeError(`copyInto: cannot copy ${src.dtype} values into an ${dst.dtype} tensor`);
  if (!Number.isInteger(dstOffset) || dstOffset < 0 || dstOffset + src.size > dst.size)
    throw new RangeError(`copyInto: ${src.size} values at offset ${dstOffset} do not fit a tensor of ${dst.size} ${shapeString(dst.shape)}`);
}
