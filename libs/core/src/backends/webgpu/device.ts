/// <reference types="@webgpu/types" />

/**
 * Turning a runtime's `GPU` object (navigator.gpu in Deno and browsers, Dawn's `create()` in Node — obtained by the
 * runtime's adapter module at the edge) into a GPUDevice the backend can use. Web-standard only.
 *
 * Optional features are requested only when the adapter lists them, and the limits the kernels can use are raised to
 * what the adapter offers (a device starts with WebGPU's conservative defaults, e.g. 128 MiB per storage binding).
 */
export const OPTIONAL_FEATURES = ['shader-f16', 'subgroups'] as const;

const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
] as const;

export class WebGpuUnavailableError extends Error {
  constructor(
    readonly tried: string,
    readonly hint: string,
    detail?: string,
  ) {
    super(`no WebGPU adapter: tried ${tried}${detail ? ` (${detail})` : ''}. ${hint}`);
    this.name = 'WebGpuUnavailableError';
  }
}

export interface AcquiredDevice {
  device: GPUDevice;
  /** The adapter as its driver names it, e.g. "NVIDIA H200 (vulkan)" or "llvmpipe (LLVM 15.0.6, 256 bits)". */
  description: string;
  /** The optional features the device was created with. */
  features: string[];
}

/**
 * Request an adapter and a device from `gpu`. `tried` names what this runtime offers (e.g. "Dawn over Vulkan via the
 * npm webgpu package"); `hint` says how to get an adapter (install a software driver) — both go into the error.
 */
export async function requestWebGpuDevice(gpu: GPU | null | undefined, tried: string, hint: string): Promise<AcquiredDevice> {
  if (!gpu) throw new WebGpuUnavailableError(tried, hint, 'this runtime exposes no GPU object');
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    throw new WebGpuUnavailableError(tried, hint, `requestAdapter failed: ${(e as Error).message}`);
  }
  if (!adapter) throw new WebGpuUnavailableError(tried, hint, 'requestAdapter returned null');
  const features = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures: features as GPUFeatureName[], requiredLimits });
  const info = adapter.info;
  const description = [info?.description || info?.device || info?.vendor || 'unknown adapter', info?.architecture]
    .filter(Boolean)
    .join(' / ');
  return { device, description, features: [...features] };
}
