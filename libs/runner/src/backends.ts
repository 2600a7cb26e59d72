import type { Backend, MatmulPrecision } from '@unilab/core';
import { createReferenceBackend, createWasmBackend, createWebGpuBackend, parseMatmulPrecision } from '@unilab/core';
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
 * Backends by the name a spec uses, in the spec's matmul precision (`spec.precision`). The WASM backend compiles its
 * kernels once per process. bf16-matmul is the WASM backend's mode: asked of another backend it is refused, not
 * ignored (parseTrainingSpec refuses it at `spec.precision` first; this guards callers that build a backend directly).
 *
 * The precision is a field of the spec, not of the environment, so that a run is reproduced by its spec alone and a
 * checkpoint (which stores the spec) resumes in the mode it was trained in. `UNILAB_PRECISION`, which the core's
 * createWasmBackend still reads as its default for scripts that build a backend by hand, is therefore never the
 * default of a run: the spec's precision is passed explicitly. Set, it must agree with the spec: ignoring it would
 * silently train an old `UNILAB_PRECISION=bf16-matmul unilab train` command in f32, and letting it win would put the
 * numerics back outside the spec. A disagreement is refused, naming both.
 *
 * `precision` may be missing from a spec admitted before the field existed (a stored job): that is f32, as it was.
 */
export async function createBackend(name: BackendName, precision: MatmulPrecision = 'f32'): Promise<Backend> {
  const env = process.env.UNILAB_PRECISION;
  if (env && parseMatmulPrecision(env, 'UNILAB_PRECISION') !== precision)
    throw new Error(
      `UNILAB_PRECISION=${env} disagrees with the spec's precision "${precision}"; the precision is the spec's field ` +
        `(spec.precision, recorded with every checkpoint): set it there and unset UNILAB_PRECISION`,
    );
  if (name !== 'wasm' && precision !== 'f32')
    throw new Error(`precision ${precision} is the wasm backend's mode; backend "${name}" computes in f32 (use backend "wasm" or precision "f32")`);
  if (name === 'reference') return createReferenceBackend();
  if (name === 'webgpu') return createWebGpuBackend((await sharedWebGpuDevice()).device);
  return createWasmBackend(undefined, { precision });
}

/** What a backend is built from: a spec's backend name and matmul precision. */
export interface BackendChoice {
  backend: BackendName;
  precision: MatmulPrecision;
}

/**
 * One backend per (name, precision), made on first ask and shared after: a sweep, its evaluation and its analyses
 * run many cells in one process on one worker pool each, and a cell's model runs in the numerics it was trained in.
 */
export function sharedBackends(): (choice: BackendChoice) => Promise<Backend> {
  const made = new Map<string, Promise<Backend>>();
  return ({ backend, precision }) => {
    const key = `${backend}/${precision}`;
    if (!made.has(key)) made.set(key, createBackend(backend, precision));
    return made.get(key)!;
  };
}
