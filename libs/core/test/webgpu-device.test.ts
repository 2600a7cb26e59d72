/// <reference types="@webgpu/types" />
import { describe, expect, it } from 'vitest';
import { OPTIONAL_FEATURES, requestWebGpuDevice, WebGpuUnavailableError } from '../src/backends/webgpu/device.ts';

// Device acquisition against fake GPU objects: what is requested from an adapter, and what a missing one says.
const tried = 'Node: Dawn via the npm `webgpu` package, over Vulkan';
const hint = 'Install a software Vulkan driver.';

function fakeAdapter(features: string[], limits: Record<string, number>) {
  const requested: GPUDeviceDescriptor[] = [];
  const adapter = {
    features: new Set(features),
    limits,
    info: { description: 'fake adapter', architecture: 'test' },
    requestDevice: async (descriptor: GPUDeviceDescriptor) => (requested.push(descriptor), { fake: true }),
  };
  return { gpu: { requestAdapter: async () => adapter } as unknown as GPU, requested };
}

describe('requesting a WebGPU device', () => {
  it('with no adapter: names what was tried, why, and how to get one', async () => {
    const gpu = { requestAdapter: async () => null } as unknown as GPU;
    const error = await requestWebGpuDevice(gpu, tried, hint).catch((e) => e);
    expect(error).toBeInstanceOf(WebGpuUnavailableError);
    expect(error.message).toBe(`no WebGPU adapter: tried ${tried} (requestAdapter returned null). ${hint}`);
    await expect(requestWebGpuDevice(undefined, 'Deno: navigator.gpu', hint)).rejects.toThrow(
      'no WebGPU adapter: tried Deno: navigator.gpu (this runtime exposes no GPU object). Install',
    );
    const failing = { requestAdapter: async () => Promise.reject(new Error('vkCreateInstance failed')) } as unknown as GPU;
    await expect(requestWebGpuDevice(failing, tried, hint)).rejects.toThrow(/requestAdapter failed: vkCreateInstance failed/);
  });

  it('asks for shader-f16 and subgroups only when the adapter lists them, and for the adapter’s own limits', async () => {
    const limits = {
      maxStorageBufferBindingSize: 2 ** 31,
      maxBufferSize: 2 ** 32,
      maxComputeWorkgroupStorageSize: 49152,
      maxComputeInvocationsPerWorkgroup: 1024,
      maxComputeWorkgroupSizeX: 1024,
    };
    const withSubgroups = fakeAdapter(['subgroups', 'timestamp-query'], limits);
    const acquired = await requestWebGpuDevice(withSubgroups.gpu, tried, hint);
    expect(acquired.features).toEqual(['subgroups']);
    expect(acquired.description).toBe('fake adapter / test');
    expect(withSubgroups.requested[0].requiredFeatures).toEqual(['subgroups']);
    expect(withSubgroups.requested[0].requiredLimits).toEqual(limits);
    const plain = fakeAdapter([], limits);
    expect((await requestWebGpuDevice(plain.gpu, tried, hint)).features).toEqual([]);
    const everything = fakeAdapter([...OPTIONAL_FEATURES], limits);
    expect((await requestWebGpuDevice(everything.gpu, tried, hint)).features).toEqual([...OPTIONAL_FEATURES]);
  });
});
