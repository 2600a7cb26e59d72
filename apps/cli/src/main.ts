import { SpecError } from '@unilab/core';

type Command = (argv: string[]) => Promise<number>;

/** A command loaded when it runs: `unilab --help` and every other command load only what they use. */
function lazy<K extends string>(load: () => Promise<Record<K, Command>>, name: K): Command {
  return async (argv) => (await load())[name](argv);
}

const COMMANDS: Record<string, { run: Command; help: string }> = {
  train: { run: lazy(() => import('./commands/train.ts'), 'trainCommand'), help: 'train <spec.json> [--out DIR] [--resume]   train a model from a spec' },
  data: { run: lazy(() => import('./commands/data.ts'), 'dataCommand'), help: 'data <pipeline.json> [--out DIR]             filter, dedup, tokenize and pack corpora into shards' },
  generate: { run: lazy(() => import('./commands/generate.ts'), 'generateCommand'), help: 'generate <checkpoint> --prompt "..."       sample text from a checkpoint' },
  eval: { run: lazy(() => import('./commands/eval.ts'), 'evalCommand'), help: 'eval <checkpoint|run dir> [--json F]       the evaluation suite, 95% intervals, chance levels' },
  finetune: { run: lazy(() => import('./commands/finetune.ts'), 'finetuneCommand'), help: 'finetune <checkpoint> [--task T] [--method M] fine-tune (full, LoRA, adapters) on a labelled task' },
  align: { run: lazy(() => import('./commands/align.ts'), 'alignCommand'), help: 'align data|sft|rm|ppo|dpo ...              alignment data with verifiers, SFT, reward model, PPO, DPO (JSONL in, checkpoints out)' },
  export: { run: lazy(() => import('./commands/export.ts'), 'exportCommand'), help: 'export <checkpoint> --format hf --out DIR  a decoder as a transformers LlamaForCausalLM directory' },
  import: { run: lazy(() => import('./commands/import.ts'), 'importCommand'), help: 'import <hf-dir> --out CKPT                a transformers LLaMA directory as a unilab checkpoint' },
  describe: { run: lazy(() => import('./commands/describe.ts'), 'describeCommand'), help: 'describe <spec.json> [--config FILE]      parameters, FLOPs, memory; matched encoder-decoders' },
  plugins: { run: lazy(() => import('./commands/plugins.ts'), 'pluginsCommand'), help: 'plugins [--config FILE]                   list registered plugins by kind' },
  preview: { run: lazy(() => import('./commands/preview.ts'), 'previewCommand'), help: 'preview <objective> --text "..."           what an objective shows and predicts' },
  run: { run: lazy(() => import('./commands/run.ts'), 'runCommand'), help: 'run <spec.json> [--out DIR] [--resume]     run a (multi-stage) job in this process' },
  'attention-rank': { run: lazy(() => import('./commands/attention-rank.ts'), 'attentionRankCommand'), help: 'attention-rank <checkpoint> [--json FILE]   rank of causal vs bidirectional attention per head' },
  'attention-degeneration': {
    run: lazy(() => import('./commands/attention-degeneration.ts'), 'attentionDegenerationCommand'),
    help: 'attention-degeneration <checkpoint> [--json F] attention on the prompt as generation proceeds, per layer',
  },
  sweep: { run: lazy(() => import('./commands/sweep.ts'), 'sweepCommand'), help: 'sweep <experiment.json> [--scale S] [--plan] a grid of architectures × objectives, resumable' },
  report: { run: lazy(() => import('./commands/report.ts'), 'reportCommand'), help: 'report <sweep dir> [--out DIR]           the study report: UL2-style tables, plots, findings' },
  serve: { run: lazy(() => import('./commands/serve.ts'), 'serveCommand'), help: 'serve [--data-dir DIR] [--port 8787]       serve the job API (Node or Deno); --redis URL queues jobs for workers' },
  worker: { run: lazy(() => import('./commands/worker.ts'), 'workerCommand'), help: 'worker --redis URL --data-dir DIR         train jobs from the Redis queue on this machine' },
  submit: { run: lazy(() => import('./commands/submit.ts'), 'submitCommand'), help: 'submit <spec.json> [--server URL]         submit a job to the server and follow it' },
  jobs: { run: lazy(() => import('./commands/jobs.ts'), 'jobsCommand'), help: 'jobs [ID] [--server URL]                  list the server\'s jobs' },
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
    // A refusal at a flag's path (--lora-targets[1]: ...) is about the command line, not a spec file.
    const message = err instanceof SpecError && !err.path.startsWith('--') ? `invalid spec: ${err.message}` : (err as Error).message;
    console.error(`unilab ${name}: ${message}`);
    if (process.env.UNILAB_DEBUG) console.error(err);
    return 1;
  }
}

// Run from sources (`tsx apps/cli/src/main.ts`, `deno run apps/cli/src/main.ts`); the built command's entry is bin.ts.
const isEntry = import.meta.url.endsWith('/main.ts') && process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!);
if (isEntry) main(process.argv.slice(2)).then((code) => process.exit(code));
