import type { ArchitecturePlugin, Backend, Model } from '@unilab/core';
import { Rng } from '@unilab/core';
import { architecturePlugins } from '../src/index.ts';

export function architecture(name: string): ArchitecturePlugin<any> {
  const plugin = architecturePlugins.find((p) => p.name === name);
  if (!plugin) throw new Error(`no architecture ${name}`);
  return plugin;
}

/** A raw config of `layers` blocks per stack for any architecture here, with overrides. */
export function rawConfig(name: string, layers: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const depth = name === 'encoder-decoder' ? { encoderLayers: layers, decoderLayers: layers } : { layers };
  return { ...depth, ...overrides };
}

export function buildModel(name: string, backend: Backend, vocabSize: number, raw: Record<string, unknown>, seed = 5): Model {
  const plugin = architecture(name);
  return plugin.create(plugin.configSchema.parse(raw, 'model'), { backend, vocabSize, rng: new Rng(seed) });
}
