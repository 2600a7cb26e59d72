/**
 * Loads the wasm32 + SIMD128 kernels built from `kernels-rs/` (wasm-bindgen,
 * `--target web`, generated into `./pkg/` by `scripts/build-kernels.sh`).
 *
 * All kernels take pointers: byte offsets into `memory.buffer`, obtained from
 * `allocF32`/`allocI32`. Views such as `new Float32Array(memory.buffer, ptr, len)`
 * become detached whenever the memory grows (any allocation may grow it), so
 * re-create them after allocating.
 *
 * Works under Node (vitest, tsx) and Deno: the module bytes are read with
 * `node:fs/promises` relative to this file.
 */
import { readFile } from 'node:fs/promises';
import {
  initSync,
  alloc_f32,
  free_f32,
  alloc_i32,
  free_i32,
  matmul as wasmMatmul,
} from './pkg/unilab_kernels.js';

export interface WasmKernels {
  /** The instance's linear memory; pointers are byte offsets into `memory.buffer`. */
  memory: WebAssembly.Memory;
  /** Room for `len` f32 (16-byte aligned). Throws (naming the byte size) when out of memory. */
  allocF32(len: number): number;
  /** Give back a block from `allocF32(len)`, with the same `len`. */
  freeF32(ptr: number, len: number): void;
  /** Room for `len` i32 (16-byte aligned). Throws (naming the byte size) when out of memory. */
  allocI32(len: number): number;
  /** Give back a block from `allocI32(len)`, with the same `len`. */
  freeI32(ptr: number, len: number): void;
  /**
   * Row-major f32: C[m,n] = op(A)[m,k]·op(B)[k,n] (+ C if `accumulate`).
   * `transA`: A is stored [k,m]; `transB`: B is stored [n,k]. C must not overlap A or B.
   * Forward Y = X·W: (x, w, y, m, k, n, false, false); Y = X·Wᵀ: (..., false, true).
   * Backward dX = dY·Wᵀ: (dy, w, dx, m, n, k, false, true); dW = Xᵀ·dY: (x, dy, dw, k, m, n, true, false).
   */
  matmul(
    a: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
    accumulate: boolean,
  ): void;
}

/** wasm32 linear memory is at most 4 GiB; no single block can reach that. */
const MAX_BYTES = 2 ** 32 - 1;

const WASM_URL = new URL('./pkg/unilab_kernels_bg.wasm', import.meta.url);

let loaded: Promise<WasmKernels> | undefined;

/** Instantiate the kernels once; later calls return the same instance. */
export async function loadWasmKernels(): Promise<WasmKernels> {
  if (!loaded) {
    loaded = instantiate();
    loaded.catch(() => {
      loaded = undefined; // allow a retry after a failed load
    });
  }
  return loaded;
}

async function instantiate(): Promise<WasmKernels> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    // Copy into a plain ArrayBuffer (a Buffer may sit on a shared pool); 16 KiB.
    bytes = new Uint8Array(await readFile(WASM_URL));
  } catch (err) {
    throw new Error(
      `unilab wasm kernels: cannot read ${WASM_URL.href} (build it with scripts/build-kernels.sh)`,
      { cause: err },
    );
  }
  if (!WebAssembly.validate(bytes)) {
    throw new Error(
      'unilab wasm kernels: this engine rejects the module (needs WebAssembly SIMD128, ' +
        'reference types and bulk memory: Node >= 16.4, Deno, current browsers)',
    );
  }
  const exports = initSync({ module: bytes });
  const memory = exports.memory;

  const allocator = (kind: string, raw: (len: number) => number) =>
    (len: number): number => {
      if (!Number.isSafeInteger(len) || len < 0) {
        throw new RangeError(`unilab wasm kernels: ${kind}(${len}): length must be a non-negative integer`);
      }
      const bytes = len * 4;
      if (bytes > MAX_BYTES) {
        throw new Error(
          `unilab wasm kernels: ${kind}(${len}): cannot allocate ${bytes} bytes ` +
            `(more than the 4 GiB wasm32 address space)`,
        );
      }
      const ptr = raw(len);
      if (ptr === 0) {
        throw new Error(
          `unilab wasm kernels: ${kind}(${len}): out of memory allocating ${bytes} bytes ` +
            `(wasm memory is ${memory.buffer.byteLength} bytes; limit 4 GiB)`,
        );
      }
      return ptr;
    };

  return {
    memory,
    allocF32: allocator('allocF32', alloc_f32),
    freeF32: (ptr, len) => free_f32(ptr, len),
    allocI32: allocator('allocI32', alloc_i32),
    freeI32: (ptr, len) => free_i32(ptr, len),
    matmul: (a, b, c, m, k, n, transA, transB, accumulate) =>
      wasmMatmul(a, b, c, m, k, n, transA, transB, accumulate),
  };
}
