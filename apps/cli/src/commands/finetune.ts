import { join } from 'node:path';
import {
  DEFAULT_FINETUNE_OPTIONS,
  brownGenreTask,
  finetune,
  formatFinetuneTable,
  parseMethods,
  saveFinetuned,
  sotuPartyTask,
  spamHamTask,
  type FinetuneOptions,
  type FinetuneResult,
  type LabelledTask,
  type TaskSizes,
} from '@unilab/eval';
import type { BackendName } from '@unilab/runner';
import { numberOption, optionChoice, parseArgs, positiveInteger, positiveNumber, stringOption, type ParsedArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';

const TASKS: Record<string, (sizes: TaskSizes) => Promise<LabelledTask>> = {
  'brown-genre': brownGenreTask,
  'spam-ham': spamHamTask,
  'sotu-party': sotuPartyTask,
};

const USAGE = [
  'usage: unilab finetune <checkpoint.safetensors> [--task brown-genre|spam-ham|sotu-party] [--method full|lora|adapter|all]',
  '  [--epochs 3] [--batch-size 16] [--lr X (every method) | --lr-full 3e-4 --lr-lora 2e-3 --lr-adapter 2e-3]',
  '  [--lora-rank 8] [--lora-alpha 16] [--lora-targets query,value (roles or the architecture\'s projection names)] [--adapter-size 16] [--adapter-norms true|false]',
  '  [--train-per-label N] [--test-per-label N] [--max-tokens N] [--pooling mean|last] [--seed 1] [--backend wasm|reference|webgpu]',
  '  [--out DIR (saves <DIR>/<task>-<method>.safetensors)] [--config unilab.config.json]',
].join('\n');



/** The fine-tuning options from the command line, over the defaults. */
function finetuneOptions(args: ParsedArgs): FinetuneOptions {
  const d = DEFAULT_FINETUNE_OPTIONS;
  const all = args.options.has('lr') ? positiveNumber(args, 'lr', 0) : undefined;
  const targets = stringOption(args, 'lora-targets', d.loraTargets.join(','))
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (targets.length === 0) throw new Error('--lora-targets: name at least one projection by role (e.g. query,value) or by its name in the architecture');
  const maxTokens = args.options.has('max-tokens') ? positiveInteger(args, 'max-tokens', 1) : undefined;
  if (maxTokens !== undefined && maxTokens < 2) throw new Error('--max-tokens: at least 2 (one text token and the closing eos)');
  return {
    ...d,
    lr: {
      full: all ?? positiveNumber(args, 'lr-full', d.lr.full),
      lora: all ?? positiveNumber(args, 'lr-lora', d.lr.lora),
      adapter: all ?? positiveNumber(args, 'lr-adapter', d.lr.adapter),
    },
    epochs: positiveInteger(args, 'epochs', d.epochs),
    batchSize: positiveInteger(args, 'batch-size', d.batchSize),
    loraRank: positiveInteger(args, 'lora-rank', d.loraRank),
    loraAlpha: positiveNumber(args, 'lora-alpha', d.loraAlpha),
    loraTargets: targets,
    loraTargetsField: '--lora-targets',
    adapterSize: positiveInteger(args, 'adapter-size', d.adapterSize),
    adapterNorms: optionChoice(args, 'adapter-norms', ['true', 'false'] as const, String(d.adapterNorms) as 'true' | 'false') === 'true',
    seed: numberOption(args, 'seed', d.seed),
    maxTokens,
    pooling: optionChoice(args, 'pooling', ['mean', 'last'] as const, d.pooling),
    backend: args.options.has('backend') ? optionChoice<BackendName>(args, 'backend', ['wasm', 'reference', 'webgpu'] as BackendName[], 'wasm') : undefined,
  };
}

/**
 * `unilab finetune <checkpoint> --task brown-genre --method all`: fine-tune a pre-trained checkpoint on a labelled
 * task with each method and print accuracy against trainable parameters and training time.
 */
export async function finetuneCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const checkpoint = args.positionals[0];
  if (!checkpoint) throw new Error(USAGE);
  const taskName = stringOption(args, 'task', 'brown-genre');
  const build = TASKS[taskName];
  if (!build) throw new Error(`--task: unknown task "${taskName}"; choose ${Object.keys(TASKS).join(', ')}`);
  const methods = parseMethods(stringOption(args, 'method', 'all'));
  const options = finetuneOptions(args);
  const sizes: TaskSizes = {
    seed: numberOption(args, 'seed', 1),
    trainPerLabel: args.options.has('train-per-label') ? positiveInteger(args, 'train-per-label', 1) : undefined,
    testPerLabel: args.options.has('test-per-label') ? positiveInteger(args, 'test-per-label', 1) : undefined,
  };
  const out = args.options.get('out');
  if (out === true) throw new Error('--out needs a directory');
  const registry = await registryFromArgs(args);
  const task = await build(sizes);
  console.log(
    `unilab finetune: ${task.name} (${task.labels.join(' / ')}): ${task.train.length} train, ${task.test.length} test examples; ` +
      `chance ${(100 * task.chance).toFixed(1)}%; base ${checkpoint}`,
  );
  const results: FinetuneResult[] = [];
  for (const method of methods) {
    const every = Math.max(1, Math.round(((task.train.length / options.batchSize) * options.epochs) / 10));
    const { result, classifier } = await finetune(checkpoint, registry, task, method, options, {
      onStep(step, total, loss) {
        if (step % every === 0 || step === total) console.error(`  ${method}: step ${step}/${total}  loss ${loss.toFixed(4)}`);
      },
    });
    results.push(result);
    if (typeof out === 'string') {
      const path = join(out, `${task.name}-${method}.safetensors`);
      await saveFinetuned(path, classifier, result.steps);
      console.error(`  ${method}: saved ${path}`);
    }
  }
  console.log(formatFinetuneTable(results));
  return 0;
}
