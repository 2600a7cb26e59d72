import { generate, loadModel } from '@unilab/runner';
import { numberOption, parseArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';

const USAGE =
  'usage: unilab generate <checkpoint.safetensors> --prompt "..." [--max-tokens 200] [--temperature 0.8] [--top-k 0] [--top-p 0.95] [--seed 1] [--config unilab.config.json]';

/** `unilab generate <checkpoint> --prompt "..."`: sample a continuation. */
export async function generateCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const path = args.positionals[0];
  if (!path) throw new Error(USAGE);
  const prompt = args.options.get('prompt');
  if (typeof prompt !== 'string') throw new Error(`--prompt is required\n${USAGE}`);
  const temperature = numberOption(args, 'temperature', 0.8);
  const topK = numberOption(args, 'top-k', 0);
  const topP = numberOption(args, 'top-p', 0.95);
  if (temperature < 0) throw new Error('--temperature must be >= 0 (0 is greedy)');
  if (!Number.isInteger(topK) || topK < 0) throw new Error('--top-k must be a non-negative integer (0 keeps every token)');
  if (!(topP > 0 && topP <= 1)) throw new Error('--top-p must be in (0, 1]');
  const loaded = await loadModel(path, await registryFromArgs(args));
  const text = await generate(loaded, prompt, {
    maxTokens: numberOption(args, 'max-tokens', 200),
    temperature,
    topK,
    topP,
    seed: numberOption(args, 'seed', 1),
  });
  console.log(prompt + text);
  return 0;
}
