import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ArchitecturePlugin, PluginRegistry } from '@unilab/core';
import { decoder } from '@unilab/plugins-arch';
import { createConfiguredRegistry, createDefaultRegistry } from '../src/index.ts';
import { tempDir } from './fixtures.ts';

/**
 * Architectures as another package would ship them (tests only). `my-decoder` builds the decoder's network under
 * its own name and calls its projections by its own names (q_proj ... down_proj, as Hugging Face's LLaMA does), with
 * its readings (hidden states, attention sites) and its tunable projections declared: a tool that looked an
 * architecture up by name, or a parameter by the built-ins' names ("wq"), would not know it. `bare-decoder` builds
 * the decoder's network without the readings or the declaration, as a plugin written before them would.
 */
const OWN_NAMES: Record<string, string> = { wq: 'q_proj', wk: 'k_proj', wv: 'v_proj', wo: 'o_proj', w_gate: 'gate_proj', w_up: 'up_proj', w_down: 'down_proj' };
const DECODER_NAMES = Object.fromEntries(Object.entries(OWN_NAMES).map(([decoderName, own]) => [own, decoderName]));

/** layers.0.wq -> layers.0.q_proj, layers.0.wq.lora_a -> layers.0.q_proj.lora_a; other names stay. */
const ownName = (name: string) => name.replace(/(^|\.)(wq|wk|wv|wo|w_gate|w_up|w_down)(?=\.|$)/, (_, dot: string, p: string) => `${dot}${OWN_NAMES[p]}`);

export const myDecoder: ArchitecturePlugin<any> = {
  ...decoder,
  name: 'my-decoder',
  description: 'a decoder from another package (tests only)',
  tunableProjections: (config) => decoder.tunableProjections!(config).map((p) => ({ ...p, name: OWN_NAMES[p.name] })),
  create(config, env) {
    // LoRA's targets arrive as this architecture's names; the decoder it wraps knows its own.
    const lora = env.tuning?.lora && { ...env.tuning.lora, targets: env.tuning.lora.targets.map((t) => DECODER_NAMES[t] ?? t) };
    const model = decoder.create(config, { ...env, ...(env.tuning && { tuning: { ...env.tuning, ...(lora && { lora }) } }) });
    // A package's own parameter names (the fixture renames the wrapped decoder's before any tool sees them).
    for (const p of model.params) (p as { name: string }).name = ownName(p.name);
    return { ...model, architecture: 'my-decoder' };
  },
};

const { tunableProjections: _declared, ...decoderWithoutDeclarations } = decoder;

export const bareDecoder: ArchitecturePlugin<any> = {
  ...decoderWithoutDeclarations,
  name: 'bare-decoder',
  description: 'a decoder from another package that exposes no readings and declares no tunable projections (tests only)',
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
