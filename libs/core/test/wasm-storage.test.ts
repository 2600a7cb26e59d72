import { describe, expect, it } from 'vitest';
import { wasmStorage } from '../src/backends/wasm/wasm-storage.ts';

/** A fake allocator of `capacity` elements that counts frees and runs out like the kernels' one. */
function fakeKernels(capacity: number) {
  let used = 0;
  let next = 8;
  const freed: number[] = [];
  return {
    freed,
    used: () => used,
    allocF32(len: number) {
      if (used + len > capacity) throw new Error(`unilab wasm kernels: allocF32(${len}): out of memory allocating ${len * 4} bytes`);
      used += len;
      next += len * 4;
      return next;
    },
    freeF32(ptr: number, len: number) {
      used -= len;
      freed.push(ptr);
    },
  };
}

describe('wasm tensor storage', () => {
  it('reuses a freed block of the same size without calling the allocator', () => {
    const k = fakeKernels(100);
    const s = wasmStorage(k);
    const p = s.allocate(10);
    s.free(p, 10);
    expect(s.allocate(10)).toBe(p);
    expect(k.used()).toBe(10);
  });

  it('out of memory, gives every cache on the same kernels back to the allocator and tries again', () => {
    const k = fakeKernels(100);
    const [a, b] = [wasmStorage(k), wasmStorage(k)];
    a.free(a.allocate(40), 40);
    b.free(b.allocate(40), 40);
    // 80 of 100 elements sit in caches of sizes nobody asks for now: a block of 30 fits only once they are released.
    a.allocate(30);
    expect(k.freed.length).toBe(2);
    expect(k.used()).toBe(30);
    expect(a.reservedBytes()).toBe(30 * 4);
    expect(b.reservedBytes()).toBe(0);
    // Truly out of memory still fails, naming the size.
    expect(() => a.allocate(80)).toThrow(/allocF32\(80\): out of memory/);
  });
});
