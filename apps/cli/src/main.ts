import { SpecError } from '@unilab/core';
import { alignCommand } from './commands/align.ts';
import { attentionDegenerationCommand } from './commands/attention-degeneration.ts';
import { attentionRankCommand } from './commands/attention-rank.ts';
import { dataCommand } from './commands/data.ts';
import { describeCommand } from './commands/describe.ts';
import { evalCommand } from './commands/eval.ts';
import { exportCommand } from './commands/export.ts';
import { finetuneCommand } from './commands/finetune.ts';
import { generateCommand } from './commands/generate.ts';
import { importCommand } from './commands/import.ts';
import { jobsCommand } from './commands/jobs.ts';
import { pluginsCommand } from './commands/plugins.ts';
import { previewCommand } from './commands/preview.ts';
import { reportCommand } from './commands/report.ts';
import { runCommand } from './commands/run.ts';
import { serveCommand } from './commands/serve.ts';
import { submitCommand } from './commands/submit.ts';
import { sweepCommand } from './commands/sweep.ts';
import { workerCommand } from './commands/worker.ts';
import { trainCommand } from './commands/train.ts';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  train: { run: trainCommand, help: 'train <spec.json> [--out DIR] [--resume]   train a model from a spec' },
  data: { run: dataCommand, help: 'data <pipeline.json> [--out DIR]             filter, dedup, tokenize and pack corpora into shards' },
  generate: { run: generateCommand, help: 'generate <checkpoint> --prompt "..."       sample text from a checkpoint' },
  eval: { run: evalCommand, help: 'eval <checkpoint|run dir> [--json F]       the evaluation suite, 95% intervals, chance levels' },
  finetune: { run: finetuneCommand, help: 'finetune <checkpoint> [--task T] [--method M] fine-tune (full, LoRA, adapters) on a labelled task' },
  align: { run: alignCommand, help: 'align data|sft|rm|ppo|dpo ...              alignment data with verifiers, SFT, reward model, PPO, DPO (JSONL in, checkpoints out)' },
  export: { run: exportCommand, help: 'export <checkpoint> --format hf --out DIR  a decoder as a transformers LlamaForCausalLM directory' },
  import: { run: importCommand, help: 'import <hf-dir> --out CKPT                a transformers LLaMA directory as a unilab checkpoint' },
  describe: { run: describeCommand, help: 'describe <spec.json> [--config FILE]      parameters, FLOPs, memory; matched encoder-decoders' },
  plugins: { run: pluginsCommand, help: 'plugins [--config FILE]                   list registered plugins by kind' },
  preview: { run: previewCommand, help: 'preview <objective> --text "..."           what an objective shows and predicts' },
  run: { run: runCommand, help: 'run <spec.json> [--out DIR] [--resume]     run a (multi-stage) job in this process' },
  'attention-rank': { run: attentionRankCommand, help: 'attention-rank <checkpoint> [--json FILE]   rank of causal vs bidirectional attention per head' },
  'attention-degeneration': {
    run: attentionDegenerationCommand,
    help: 'attention-degeneration <checkpoint> [--json F] attention on the prompt as generation proceeds, per layer',
  },
  sweep: { run: sweepCommand, help: 'sweep <experiment.json> [--scale S] [--plan] a grid of architectures × objectives, resumable' },
  report: { run: reportCommand, help: 'report <sweep dir> [--out DIR]           the study report: UL2-style tables, plots, findings' },
  serve: { run: serveCommand, help: 'serve [--data-dir DIR] [--port 8787]       serve the job API (Node or Deno); --redis URL queues jobs for workers' },
  worker: { run: workerCommand, help: 'worker --redis URL --data-dir DIR         train jobs from the Redis queue on this machine' },
  submit: { run: submitCommand, help: 'submit <spec.json> [--server URL]         submit a job to the server and follow it' },
  jobs: { run: jobsCommand, help: 'jobs [ID] [--server URL]                  list the server\'s jobs' },
};

function usage(): string {
  return ['unilab: pre-train and compare small language models', '', 'commands:', ...Object.values(COMMANDS).map((c) => `  unilab ${c.help}`)].join('\n');
}

/** CLI entry: one clear line on stderr and exit code 1 for any error the user can fix; never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`unilab: unknown command "${name}"\n\n${usage()}`);
    return 1;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    const message = err instanceof SpecError ? `invalid spec: ${err.message}` : (err as Error).message;
    console.error(`unilab ${name}: ${message}`);
    if (process.env.UNILAB_DEBUG) console.error(err);
    return 1;
  }
}

const isEntry = process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!);
if (isEntry) main(process.argv.slice(2)).then((code) => process.exit(code));
