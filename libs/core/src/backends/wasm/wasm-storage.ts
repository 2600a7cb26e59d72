import type { WasmKernels } from './kernels-loader.ts';

/** Tensor memory of one WASM backend: blocks of 4-byte elements (f32 or i32) in the kernels' shared memory. */
export interface WasmStorage {
  /** A block of `size` elements (contents undefined); throws naming the byte size when out of memory. */
  allocate(size: number): number;
  free(ptr: number, size: number): void;
  /** Bytes taken from the kernels' allocator (live tensors plus cached free blocks). */
  reservedBytes(): number;
}

/**
 * Freed blocks are cached by element count and reused: a training step allocates the same shapes every time, so
 * after the first step memory stops growing and the allocator is no longer called.
 */
export function wasmStorage(kernels: WasmKernels): WasmStorage {
  const cache = new Map<number, number[]>();
  let reserved = 0;
  return {
    allocate(size) {
      const n = Math.max(1, size);
      const hit = cache.get(n)?.pop();
      if (hit !== undefined) return hit;
      const ptr = kernels.allocF32(n);
      reserved += n * 4;
      return ptr;
    },
    free(ptr, size) {
      const n = Math.max(1, size);
      const list = cache.get(n);
      if (list) list.push(ptr);
      else cache.set(n, [ptr]);
    },
    reservedBytes: () => reserved,
  };
}
