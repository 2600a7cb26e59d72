import { generate, loadModel, partsFromMarkedText, type Prompt } from '@unilab/runner';
import { numberOption, parseArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';

const USAGE =
  'usage: unilab generate <checkpoint.safetensors> --prompt "..." [--special] [--mode NLU|NLG|S2S] [--max-tokens 200] ' +
  '[--temperature 0.8] [--top-k 0] [--top-p 0.95] [--seed 1] [--no-cache] [--config unilab.config.json]';

/**
 * `unilab generate <checkpoint> --prompt "..."`: sample a continuation, the prompt laid out as the model's objective
 * laid out its inputs in training. `--special` reads `<|name|>` in the prompt as the special token `name` (a sentinel
 * `<|extra_id_0|>`, `<|MASK|>`); without it the prompt is plain text, markers included. `--mode` picks UL2's paradigm
 * token. `--no-cache` re-runs the whole sequence for every token instead of using the key/value cache.
 */
export async function generateCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['special', 'no-cache']);
  const path = args.positionals[0];
  if (!path) throw new Error(USAGE);
  const text = args.options.get('prompt');
  if (typeof text !== 'string') throw new Error(`--prompt is required\n${USAGE}`);
  const mode = args.options.get('mode');
  if (mode === true) throw new Error('--mode needs a value: NLU, NLG or S2S (UL2 paradigms, for models trained with mode tokens)');
  const temperature = numberOption(args, 'temperature', 0.8);
  const topK = numberOption(args, 'top-k', 0);
  const topP = numberOption(args, 'top-p', 0.95);
  if (temperature < 0) throw new Error('--temperature must be >= 0 (0 is greedy)');
  if (!Number.isInteger(topK) || topK < 0) throw new Error('--top-k must be a non-negative integer (0 keeps every token)');
  if (!(topP > 0 && topP <= 1)) throw new Error('--top-p must be in (0, 1]');
  const prompt: Prompt = args.options.has('special') ? partsFromMarkedText(text) : text;
  const loaded = await loadModel(path, await registryFromArgs(args));
  const continuation = await generate(loaded, prompt, {
    maxTokens: numberOption(args, 'max-tokens', 200),
    temperature,
    topK,
    topP,
    seed: numberOption(args, 'seed', 1),
    mode,
    cache: !args.options.has('no-cache'),
  });
  console.log(text + continuation);
  return 0;
}
