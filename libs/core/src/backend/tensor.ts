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
