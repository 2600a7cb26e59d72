import { writeFile } from 'node:fs/promises';
import { heldOutDegeneration, loadModel } from '@unilab/runner';
import { numberOption, parseArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';

const USAGE =
  'usage: unilab attention-degeneration <checkpoint> [--prompts 8] [--prompt-length N] [--steps N] [--continuation greedy|reference] [--json FILE] [--config unilab.config.json]';

/**
 * `unilab attention-degeneration ckpt.safetensors`: Fu et al. (2023)'s attention degeneration measured
 * (libs/runner/src/analysis/attention-degeneration.ts): held-out prompts from the checkpoint's corpus, a greedy
 * continuation, and per layer the attention on the source at each generation step: a decoder's softmax mass on the
 * prompt, and for every model the source's share of what attention writes into the residual stream (an
 * encoder-decoder's cross-attention against its decoder self-attention). --json writes every prompt's curves.
 */
export async function attentionDegenerationCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const path = args.positionals[0];
  if (!path || args.positionals.length > 1) throw new Error(USAGE);
  const prompts = numberOption(args, 'prompts', 8);
  if (!Number.isInteger(prompts) || prompts < 1 || prompts > 256) throw new Error(`--prompts: expected an integer from 1 to 256, got ${prompts}`);
  const continuation = args.options.get('continuation') ?? 'greedy';
  if (continuation !== 'greedy' && continuation !== 'reference') throw new Error(`--continuation: expected greedy or reference, got ${JSON.stringify(continuation)}`);
  const loaded = await loadModel(path, await registryFromArgs(args));
  const promptTokens = args.options.has('prompt-length') ? numberOption(args, 'prompt-length', 0) : undefined;
  const steps = args.options.has('steps') ? numberOption(args, 'steps', 0) : undefined;
  for (const [name, v] of [['prompt-length', promptTokens], ['steps', steps]] as const)
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v >= loaded.seqLen))
      throw new Error(`--${name}: expected an integer from 1 to ${loaded.seqLen - 1} (the model's context is ${loaded.seqLen}), got ${v}`);
  const result = await heldOutDegeneration(loaded, { prompts, promptTokens, steps, continuation });

  console.log(
    `unilab: attention degeneration of ${result.architecture} (${result.objective}, ${path}) on ${result.prompts.length} held-out prompts of ` +
      `${result.promptTokens} tokens, ${result.steps} ${result.continuation} continuation steps`,
  );
  const marks = [...new Set([0, Math.floor(result.steps / 4), Math.floor(result.steps / 2), Math.floor((3 * result.steps) / 4), result.steps - 1])];
  console.log(`| layer | measure | ${marks.map((t) => `step ${t}`).join(' | ')} |`);
  console.log(`|---|---|${marks.map(() => '---').join('|')}|`);
  for (const l of result.mean) {
    if (l.sourceMass) console.log(`| ${l.layer} | mass on the prompt | ${marks.map((t) => l.sourceMass![t].toFixed(3)).join(' | ')} |`);
    console.log(`| ${l.layer} | source share of the attention output | ${marks.map((t) => l.sourceShare[t].toFixed(3)).join(' | ')} |`);
  }
  const json = args.options.get('json');
  if (typeof json === 'string') {
    await writeFile(json, JSON.stringify({ checkpoint: path, ...result }, null, 1) + '\n');
    console.log(`unilab: curves written to ${json}`);
  }
  return 0;
}
