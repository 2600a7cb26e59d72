import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AnyPlugin, PluginRegistry } from '@unilab/core';
import { createDefaultRegistry } from './registry.ts';

/**
 * Node/Deno adapter: plugins from npm, Vite style. A configuration file lists them explicitly:
 *   unilab.config.json   { "plugins": ["unilab-plugin-pe-sandwich", "./my-plugin.js"] }
 * A package name resolves from the config file's directory (its node_modules), a ./ path relative to that directory.
 * A module exports its plugins as `plugins` (a list) or as its default export (one plugin or a list).
 * This list, written by whoever runs unilab, is the only way code gets loaded: a spec or an API request names plugins
 * that are already registered, never a module to import.
 */
export const PLUGIN_CONFIG_FILE = 'unilab.config.json';

/** The kinds a configuration may add, and the function each must have. */
const KINDS: Record<string, string> = {
  architecture: 'create',
  objective: 'createBatcher',
  'positional-encoding': 'create',
  'data-stage': 'create',
};

export interface PluginConfig {
  /** Absolute path of the configuration file. */
  path: string;
  /** Module specifiers, as written. */
  plugins: string[];
}

export async function readPluginConfig(path: string): Promise<PluginConfig> {
  const absolute = resolve(path);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(absolute, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `plugin configuration ${absolute} does not exist` : `plugin configuration ${absolute} is not valid JSON: ${(err as Error).message}`);
  }
  const plugins = (raw as { plugins?: unknown } | null)?.plugins;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !Array.isArray(plugins) || !plugins.every((p) => typeof p === 'string' && p.length > 0))
    throw new Error(`plugin configuration ${absolute}: expected { "plugins": ["<package or ./path>", ...] }`);
  return { path: absolute, plugins };
}

/** Where a specifier of the configuration points: a file path beside the config, or a package from its node_modules. */
function resolveSpecifier(specifier: string, configPath: string): string {
  if (specifier.startsWith('./') || specifier.startsWith('../') || isAbsolute(specifier)) return resolve(dirname(configPath), specifier);
  try {
    return createRequire(configPath).resolve(specifier);
  } catch {
    throw new Error(`plugin "${specifier}" (listed in ${configPath}) is not installed there; run npm install ${specifier} in ${dirname(configPath)}`);
  }
}

function checkPlugin(value: unknown, source: string): AnyPlugin {
  const p = value as Partial<Record<string, unknown>> | null;
  const hook = typeof p?.kind === 'string' ? KINDS[p.kind] : undefined;
  if (!p || !hook || typeof p.name !== 'string' || typeof (p.configSchema as { parse?: unknown })?.parse !== 'function' || typeof p[hook] !== 'function')
    throw new Error(
      `${source} exports something that is not a unilab plugin: expected { kind: ${Object.keys(KINDS).join(' | ')}, name, configSchema, ${Object.values(KINDS).join(' / ')}() }`,
    );
  return p as unknown as AnyPlugin;
}

/** Import every module the configuration lists and return their plugins. */
export async function loadConfiguredPlugins(config: PluginConfig): Promise<AnyPlugin[]> {
  const plugins: AnyPlugin[] = [];
  for (const specifier of config.plugins) {
    const file = resolveSpecifier(specifier, config.path);
    const module = (await import(pathToFileURL(file).href)) as { plugins?: unknown; default?: unknown };
    const exported = module.plugins ?? module.default;
    if (exported === undefined) throw new Error(`plugin module "${specifier}" exports neither \`plugins\` nor a default export`);
    for (const p of Array.isArray(exported) ? exported : [exported]) plugins.push(checkPlugin(p, `plugin module "${specifier}"`));
  }
  return plugins;
}

/** The configuration to use: the given path, else unilab.config.json in the working directory if there is one. */
export async function findPluginConfig(explicit?: string, cwd = process.cwd()): Promise<string | null> {
  if (explicit) return resolve(cwd, explicit);
  const candidate = join(cwd, PLUGIN_CONFIG_FILE);
  return (await stat(candidate).catch(() => null))?.isFile() ? candidate : null;
}

/** The repository's plugins plus those of the configuration (if any). */
export async function createConfiguredRegistry(configPath?: string | null): Promise<PluginRegistry> {
  if (!configPath) return createDefaultRegistry();
  return createDefaultRegistry(await loadConfiguredPlugins(await readPluginConfig(configPath)));
}
