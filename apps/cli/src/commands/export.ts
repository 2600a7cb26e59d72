import { exportLlama } from '@unilab/runner';
import { parseArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';

const USAGE = 'usage: unilab export <checkpoint> --format hf --out DIR';

/** `unilab export ckpt --format hf --out DIR`: a transformers LlamaForCausalLM directory of a decoder checkpoint. */
export async function exportCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const path = args.positionals[0];
  const format = args.options.get('format');
  const out = args.options.get('out');
  if (!path || typeof out !== 'string') throw new Error(USAGE);
  if (format !== 'hf') throw new Error(`--format must be "hf" (Hugging Face transformers); got ${JSON.stringify(format ?? null)}`);
  const result = await exportLlama(path, out, await registryFromArgs(args));
  console.log(`unilab: wrote LlamaForCausalLM to ${out} (${result.files.length} files); load it with transformers' AutoModelForCausalLM.from_pretrained("${out}")`);
  return 0;
}
