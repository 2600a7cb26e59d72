import { PluginRegistry, type AnyPlugin } from '@unilab/core';
import { dataStagePlugins } from '@unilab/data';
import { architecturePlugins, positionalEncodingPlugins } from '@unilab/plugins-arch';
import { objectivePlugins } from '@unilab/plugins-objective';

/** The registry of the plugins shipped in this repository, plus any extra plugins the configuration lists. */
export function createDefaultRegistry(extra: readonly AnyPlugin[] = []): PluginRegistry {
  return new PluginRegistry([...architecturePlugins, ...positionalEncodingPlugins, ...objectivePlugins, ...dataStagePlugins, ...extra]);
}
