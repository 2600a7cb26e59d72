import type { Backend } from '@unilab/core';
import { createReferenceBackend, createWasmBackend } from '@unilab/core';

export type BackendName = 'wasm' | 'reference';

/** Backends by the name a spec uses. The WASM backend compiles its kernels once per process. */
export async function createBackend(name: BackendName): Promise<Backend> {
  if (name === 'reference') return createReferenceBackend();
  return createWasmBackend();
}
