import type { Backend } from '@unilab/core';
import { createReferenceBackend, createWasmBackend, createWebGpuBackend } from '@unilab/core';
import { acquireWebGpuDevice, type WebGpuDevice } from './webgpu-device.ts';

export type BackendName = 'wasm' | 'reference' | 'webgpu';

/** One GPU device per process, shared by every webgpu backend (each run gets its own backend and buffers). */
let webgpu: Promise<WebGpuDevice> | null = null;

function sharedWebGpuDevice(): Promise<WebGpuDevice> {
  if (!webgpu) {
    const acquiring = acquireWebGpuDevice();
    webgpu = acquiring;
    // A failed or lost device is not kept: the next run asks again.
    acquiring.then(
      (d) => d.device.lost.then(() => webgpu === acquiring && (webgpu = null)),
      () => webgpu === acquiring && (webgpu = null),
    );
  }
  return webgpu;
}

/**
 * Backends by the name a spec uses. The WASM backend compiles its kernels once per process. `UNILAB_PRECISION`
 * (bf16-matmul mixed precision) is the WASM backend's: asked of another backend it is refused, not ignored.
 */
export async function createBackend(name: BackendName): Promise<Backend> {
  const precision = process.env.UNILAB_PRECISION;
  if (name !== 'wasm' && precision && precision !== 'f32')
    throw new Error(`UNILAB_PRECISION=${precision} applies to the wasm backend only; this run's backend is "${name}" (unset UNILAB_PRECISION or use backend "wasm")`);
  if (name === 'reference') return createReferenceBackend();
  if (name === 'webgpu') return createWebGpuBackend((await sharedWebGpuDevice()).device);
  return createWasmBackend();
}
