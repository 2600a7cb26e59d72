import type { DType } from '../../backend/tensor.ts';
import type { ArrayStorage } from '../array-storage.ts';
import type { WasmKernels } from './kernels-loader.ts';

/**
 * Tensor memory inside the kernels' linear memory. Slots are byte offsets (pointers the Rust kernels take
 * directly, so no data crosses between JavaScript and WASM per op). Freed blocks are cached by element count and
 * reused: a training step allocates the same shapes every time, so after the first step memory stops growing.
 */
export function wasmStorage(kernels: WasmKernels): ArrayStorage<number> {
  const cache = new Map<number, number[]>();
  let reserved = 0;
  return {
    name: 'wasm',
    floatArray: Float32Array,
    allocate(size: number, _dtype: DType): number {
      const n = Math.max(1, size);
      const hit = cache.get(n)?.pop();
      if (hit !== undefined) return hit;
      reserved += n * 4;
      // f32 and i32 blocks have the same size and alignment, so one pool serves both.
      return kernels.allocF32(n);
    },
    floatView: (ptr, size) => new Float32Array(kernels.memory.buffer, ptr, size),
    intView: (ptr, size) => new Int32Array(kernels.memory.buffer, ptr, size),
    free(ptr: number, size: number): void {
      const n = Math.max(1, size);
      const list = cache.get(n);
      if (list) list.push(ptr);
      else cache.set(n, [ptr]);
    },
    reservedBytes: () => reserved,
  };
}
