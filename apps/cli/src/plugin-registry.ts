import type { PluginRegistry } from '@unilab/core';
import { createConfiguredRegistry, findPluginConfig } from '@unilab/runner';
import type { ParsedArgs } from './args.ts';

/**
 * The registry a command uses: the repository's plugins plus those listed by `--config FILE`, or by
 * unilab.config.json in the working directory when there is one.
 */
export async function registryFromArgs(args: ParsedArgs): Promise<PluginRegistry> {
  const explicit = args.options.get('config');
  return createConfiguredRegistry(await findPluginConfig(typeof explicit === 'string' ? explicit : undefined));
}
