/// <reference types="@webgpu/types" />
import { requestWebGpuDevice, WebGpuUnavailableError, type AcquiredDevice } from '@unilab/core';

/**
 * The runtime edge of the WebGPU backend: where a GPU object comes from.
 *   Deno (and browsers): navigator.gpu (wgpu in Deno).
 *   Node: the npm `webgpu` package (Google's Dawn, `dawn.node` shipped inside the package), usually over Vulkan.
 * Everything past this file is web-standard and receives only the GPUDevice.
 */
export interface WebGpuDevice extends AcquiredDevice {
  /** The runtime and implementation, e.g. "Node, Dawn (npm webgpu)". */
  runtime: string;
  /** Destroy the device and drop the runtime's GPU object, so the process can exit. */
  release(): void;
}

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';

const SOFTWARE_DRIVER_HINT =
  'Without a GPU, install a software Vulkan driver (Mesa lavapipe). On Debian/Ubuntu: ' +
  '`bash scripts/install-webgpu-ci.sh`, then export the VK_ICD_FILENAMES line it prints ' +
  "(Dawn needs Mesa ≥ 24's lavapipe; Debian 12's own 22.3 is too old, the script takes Mesa 25's from bookworm-backports). " +
  "Deno's wgpu also runs on the stock driver: `apt-get install mesa-vulkan-drivers libvulkan1`. " +
  'With an NVIDIA GPU, the driver must provide its Vulkan ICD (nvidia_icd.json) and libvulkan1 must be installed.';

/** Dawn's GPU object, shared by every device of this process and dropped with the last one. */
let dawn: { gpu: GPU; users: number } | null = null;

async function nodeGpu(): Promise<GPU> {
  if (dawn) return dawn.gpu;
  let mod: { create(flags: string[]): GPU; globals: object };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    throw new WebGpuUnavailableError(
      'Node: Dawn via the npm `webgpu` package',
      'Install it with `npm install` at the repository root (it is a devDependency).',
      `the package could not be loaded: ${(e as Error).message}`,
    );
  }
  // Dawn's constructors and flag objects (GPUBufferUsage, …) as globals, as a browser has them.
  Object.assign(globalThis, mod.globals);
  dawn = { gpu: mod.create([]), users: 0 };
  return dawn.gpu;
}

/** Acquire a GPUDevice in this runtime, or throw WebGpuUnavailableError naming what was tried and how to fix it. */
export async function acquireWebGpuDevice(): Promise<WebGpuDevice> {
  if (isDeno) {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    const acquired = await requestWebGpuDevice(gpu, 'Deno: navigator.gpu (wgpu over Vulkan)', SOFTWARE_DRIVER_HINT);
    return { ...acquired, runtime: 'Deno, wgpu (navigator.gpu)', release: () => acquired.device.destroy() };
  }
  const gpu = await nodeGpu();
  const acquired = await requestWebGpuDevice(gpu, 'Node: Dawn via the npm `webgpu` package, over Vulkan', SOFTWARE_DRIVER_HINT);
  dawn!.users++;
  let released = false;
  return {
    ...acquired,
    runtime: 'Node, Dawn (npm webgpu)',
    release() {
      if (released) return;
      released = true;
      acquired.device.destroy();
      if (dawn && --dawn.users === 0) dawn = null;
    },
  };
}
