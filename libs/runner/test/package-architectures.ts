import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ArchitecturePlugin, PluginRegistry } from '@unilab/core';
import { decoder } from '@unilab/plugins-arch';
import { createConfiguredRegistry, createDefaultRegistry } from '../src/index.ts';
import { tempDir } from './fixtures.ts';

/**
 * Architectures as another package would ship them (tests only). `my-decoder` builds the decoder's network under
 * its own name, with its readings (hidden states, attention sites): a tool that looked an architecture up by name,
 * or by its parameters' names, would not know it. `bare-decoder` builds the same network without the readings, as
 * a plugin written before them would.
 */
export const myDecoder: ArchitecturePlugin<any> = {
  ...decoder,
  name: 'my-decoder',
  description: 'a decoder from another package (tests only)',
  create: (config, env) => ({ ...decoder.create(config, env), architecture: 'my-decoder' }),
};

export const bareDecoder: ArchitecturePlugin<any> = {
  ...decoder,
  name: 'bare-decoder',
  description: 'a decoder from another package that exposes no readings (tests only)',
  create(config, env) {
    const { config: built, params, forward } = decoder.create(config, env);
    return { architecture: 'bare-decoder', config: built, params, forward };
  },
};

/** fixtures/plugin-xpos-example: the xPos encoding and a fill-in-the-middle objective, from npm. */
const PACKAGE = resolve(import.meta.dirname, '../../../fixtures/plugin-xpos-example/index.js');

/** The built-ins, the package's xpos and fim (through unilab.config.json, as a project lists them) and `architectures`. */
export async function registryWithPackage(architectures: readonly ArchitecturePlugin<any>[] = [myDecoder]): Promise<PluginRegistry> {
  const dir = await tempDir();
  await writeFile(join(dir, 'unilab.config.json'), JSON.stringify({ plugins: [PACKAGE] }));
  const configured = await createConfiguredRegistry(join(dir, 'unilab.config.json'));
  return createDefaultRegistry([...configured.list().filter((p) => ['xpos', 'fim'].includes(p.name)), ...architectures]);
}
