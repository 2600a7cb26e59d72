import type { TuningModules } from '@unilab/core';
import { DEFAULT_METHOD_OPTIONS } from '@unilab/eval';
import { numberOption, positiveInteger, positiveNumber, stringOption, type ParsedArgs } from '../args.ts';

export const TUNING_USAGE = '  every stage: [--lora RANK [--lora-alpha 16] [--lora-targets query,value] | --adapter SIZE] [--tuning-seed 1] trains LoRA factors or adapters only';

/**
 * `--lora RANK` (LoRA factors on --lora-targets, Hu et al. 2021) or `--adapter SIZE` (Houlsby adapters, with the
 * norms): the modules an alignment stage adds and trains instead of every weight. A checkpoint that carries modules
 * from an earlier stage keeps them and trains them; undefined when neither option is given.
 */
export function tuningFromArgs(args: ParsedArgs): TuningModules | undefined {
  const lora = args.options.has('lora');
  const adapter = args.options.has('adapter');
  if (lora && adapter) throw new Error('--lora and --adapter: choose one way to tune');
  const seed = numberOption(args, 'tuning-seed', DEFAULT_METHOD_OPTIONS.seed);
  if (lora) {
    const targets = stringOption(args, 'lora-targets', DEFAULT_METHOD_OPTIONS.loraTargets.join(','))
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t.length > 0);
    if (targets.length === 0) throw new Error('--lora-targets: name at least one projection by role (e.g. query,value) or by its name in the architecture');
    return { lora: { rank: positiveInteger(args, 'lora', DEFAULT_METHOD_OPTIONS.loraRank), alpha: positiveNumber(args, 'lora-alpha', DEFAULT_METHOD_OPTIONS.loraAlpha), targets }, seed };
  }
  if (adapter) return { adapters: { size: positiveInteger(args, 'adapter', DEFAULT_METHOD_OPTIONS.adapterSize) }, seed };
  return undefined;
}

/** "12,345 of 67,890 parameters (lora rank 8 on wq, wv)": what a stage trains, for its first line. */
export function describeTraining(trained: readonly { value: { size: number } }[], all: readonly { value: { size: number } }[], tuning: TuningModules | undefined): string {
  const count = (ps: readonly { value: { size: number } }[]) => ps.reduce((n, p) => n + p.value.size, 0).toLocaleString('en-US');
  const how = tuning?.lora ? `lora rank ${tuning.lora.rank} on ${tuning.lora.targets.join(', ')}` : tuning?.adapters ? `adapters of size ${tuning.adapters.size} and the norms` : 'every weight';
  return `training ${count(trained)} of ${count(all)} parameters (${how})`;
}
