import type { DType } from '../backend/tensor.ts';
import type { FloatArray } from '../kernels/types.ts';

/**
 * Where an array backend keeps tensor memory: JavaScript heap arrays (reference backend) or WASM linear memory.
 * A slot is whatever the storage needs to find the memory again; `view` returns a typed array over it without
 * copying (for WASM a fresh view each call, because growing the memory detaches old views).
 */
export interface ArrayStorage<Slot> {
  readonly name: string;
  /** Float precision of f32 tensors in this storage ('f64' only for the float64 gradient checks). */
  readonly floatArray: typeof Float32Array | typeof Float64Array;
  allocate(size: number, dtype: DType): Slot;
  floatView(slot: Slot, size: number): FloatArray;
  intView(slot: Slot, size: number): Int32Array;
  free(slot: Slot, size: number, dtype: DType): void;
  reservedBytes(): number;
}

/** Plain JavaScript arrays; memory is reclaimed by the garbage collector once a tensor is disposed. */
export function heapStorage(precision: 'f32' | 'f64'): ArrayStorage<Float32Array | Float64Array | Int32Array> {
  const floatArray = precision === 'f64' ? Float64Array : Float32Array;
  let reserved = 0;
  return {
    name: precision === 'f64' ? 'reference-f64' : 'reference',
    floatArray,
    allocate(size, dtype) {
      reserved += size * (dtype === 'i32' ? 4 : floatArray.BYTES_PER_ELEMENT);
      return dtype === 'i32' ? new Int32Array(size) : new floatArray(size);
    },
    floatView: (slot) => slot as FloatArray,
    intView: (slot) => slot as Int32Array,
    free(_slot, size, dtype) {
      reserved -= size * (dtype === 'i32' ? 4 : floatArray.BYTES_PER_ELEMENT);
    },
    reservedBytes: () => reserved,
  };
}
