import type { AnyPlugin, PluginRegistry } from '@unilab/core';
import { createDefaultRegistry, findPluginConfig, loadConfiguredPlugins, readPluginConfig } from '@unilab/runner';
import { parseArgs } from '../args.ts';

const KIND_TITLES: Record<string, string> = {
  architecture: 'architectures',
  'positional-encoding': 'positional encodings',
  objective: 'objectives',
  'data-stage': 'data stages',
};

/** Which registered architectures an objective trains or an encoding serves (derived from their declarations). */
function servedArchitectures(p: AnyPlugin, registry: PluginRegistry): string {
  return p.kind === 'objective' || p.kind === 'positional-encoding' ? ` [${registry.pairedArchitectures(p).join(', ')}]` : '';
}

/**
 * `unilab plugins [--config unilab.config.json]`: every registered plugin by kind — the repository's and those the
 * configuration lists (marked with where they came from).
 */
export async function pluginsCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const explicit = args.options.get('config');
  const configPath = await findPluginConfig(typeof explicit === 'string' ? explicit : undefined);
  const config = configPath ? await readPluginConfig(configPath) : null;
  const configured = config ? await loadConfiguredPlugins(config) : [];
  const registry = createDefaultRegistry(configured);
  const fromConfig = new Set(configured);
  if (config) console.log(`plugins from ${config.path}: ${config.plugins.join(', ') || 'none'}\n`);
  const kinds = [...new Set(registry.list().map((p) => p.kind))];
  for (const kind of kinds) {
    const plugins = registry.ofKind(kind);
    console.log(`${KIND_TITLES[kind] ?? kind} (${plugins.length})`);
    const width = Math.max(...plugins.map((p) => p.name.length));
    for (const p of plugins)
      console.log(`  ${p.name.padEnd(width)}  ${p.description}${servedArchitectures(p, registry)}${fromConfig.has(p) ? '  (from the configuration)' : ''}`);
    console.log('');
  }
  return 0;
}
