import { importLlama } from '@unilab/runner';
import { parseArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';

const USAGE = 'usage: unilab import <hf-dir> --out CHECKPOINT.safetensors';

/** `unilab import DIR --out ckpt`: a transformers LLaMA directory as a unilab decoder checkpoint (step 0). */
export async function importCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const dir = args.positionals[0];
  const out = args.options.get('out');
  if (!dir || typeof out !== 'string') throw new Error(USAGE);
  const result = await importLlama(dir, out, await registryFromArgs(args));
  console.log(
    `unilab: wrote ${out}: decoder, ${(result.parameters / 1e6).toFixed(3)}M parameters; ` +
      `generate with \`unilab generate ${out} --prompt ...\`, train on with \`unilab train <spec.json> --init-from ${out}\``,
  );
  return 0;
}
