import type { WasmKernels } from './kernels-loader.ts';

/** Tensor memory of one WASM backend: blocks of 4-byte elements (f32 or i32) in the kernels' shared memory. */
export interface WasmStorage {
  /** A block of `size` elements (contents undefined); throws naming the byte size when out of memory. */
  allocate(size: number): number;
  free(ptr: number, size: number): void;
  /** Bytes taken from the kernels' allocator (live tensors plus cached free blocks). */
  reservedBytes(): number;
}

/** Every storage on one kernels instance: they share its memory, so one running out may empty the others' caches. */
const storagesOf = new WeakMap<Pick<WasmKernels, 'allocF32' | 'freeF32'>, Set<() => void>>();

/**
 * Freed blocks are cached by element count and reused: a training step allocates the same shapes every time, so
 * after the first step memory stops growing and the allocator is no longer called. A process whose shapes keep
 * changing (batches padded to their longest row, stage after stage of an alignment pipeline) would fill the 4 GiB
 * with cached blocks of sizes it no longer asks for; so when the allocator runs out, every cache on these kernels is
 * given back to it (the allocator merges neighbouring free blocks) and the allocation is tried once more.
 */
export function wasmStorage(kernels: Pick<WasmKernels, 'allocF32' | 'freeF32'>): WasmStorage {
  const cache = new Map<number, number[]>();
  let reserved = 0;
  const release = () => {
    for (const [n, ptrs] of cache) {
      for (const ptr of ptrs) kernels.freeF32(ptr, n);
      reserved -= n * 4 * ptrs.length;
    }
    cache.clear();
  };
  let storages = storagesOf.get(kernels);
  if (!storages) storagesOf.set(kernels, (storages = new Set()));
  storages.add(release);
  const siblings = storages;
  return {
    allocate(size) {
      const n = Math.max(1, size);
      const hit = cache.get(n)?.pop();
      if (hit !== undefined) return hit;
      let ptr: number;
      try {
        ptr = kernels.allocF32(n);
      } catch (err) {
        if (!/out of memory/.test((err as Error).message)) throw err;
        for (const r of siblings) r();
        ptr = kernels.allocF32(n);
      }
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
