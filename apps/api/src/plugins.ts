import type { AnyPlugin, PluginRegistry } from '@unilab/core';
import { createDefaultRegistry } from '@unilab/runner';

/**
 * The server's registry: the plugins shipped in this repository plus those of the modules its config lists (file
 * URLs). Each module exports `plugins`, a list of plugin objects. The server and every worker build the same registry.
 */
export async function loadRegistry(modules: readonly string[]): Promise<PluginRegistry> {
  const extra: AnyPlugin[] = [];
  for (const url of modules) {
    const mod = (await import(url)) as { plugins?: unknown };
    if (!Array.isArray(mod.plugins)) throw new Error(`plugin module ${url} must export \`plugins\`, a list of plugin objects`);
    extra.push(...(mod.plugins as AnyPlugin[]));
  }
  return createDefaultRegistry(extra);
}
