import { ArrayBackend } from '../array-backend.ts';
import { loadWasmKernels, type WasmKernels } from './kernels-loader.ts';
import { wasmStorage } from './wasm-storage.ts';

/**
 * The CPU backend: tensors live in WASM linear memory; matmul (forward and both backward products) runs in the
 * Rust SIMD128 kernel on raw pointers. The remaining ops run the TypeScript kernels on zero-copy views of the same
 * memory until their Rust versions land (issue "Rust-WASM kernels").
 */
export async function createWasmBackend(kernels?: WasmKernels): Promise<ArrayBackend<number>> {
  const k = kernels ?? (await loadWasmKernels());
  return new ArrayBackend(wasmStorage(k), (a, b, c, m, kk, n, transA, transB) => k.matmul(a, b, c, m, kk, n, transA, transB, false));
}

export { loadWasmKernels, type WasmKernels };
