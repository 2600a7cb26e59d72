import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobLogEvent } from '@unilab/api';
import { jobTokenizer, parseJobSpec, readJobProgress, runStages, validateJobPlugins } from '@unilab/runner';
import { parseArgs } from '../args.ts';
import { warnAboutMemory } from '../memory-warning.ts';
import { registryFromArgs } from '../plugin-registry.ts';
import { ProgressBar } from '../progress-bar.ts';

const USAGE = 'usage: unilab run <spec.json> [--out DIR] [--resume] [--config unilab.config.json]';

/**
 * `unilab run spec.json`: the same job the API runs (stages, gates, checkpoints), in this process, no server.
 * Ctrl-C stops after the current step with a checkpoint; `--resume` continues in the right stage and step.
 */
export async function runCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['resume']);
  const specPath = args.positionals[0];
  if (!specPath) throw new Error(USAGE);
  const job = parseJobSpec(await readJsonFile(specPath, 'spec file'));
  const registry = await registryFromArgs(args);
  validateJobPlugins(job, registry);
  await warnAboutMemory(job.stages.map((s) => s.spec), registry, jobTokenizer(job, registry).vocabSize);
  const out = args.options.get('out');
  const spec = job.stages[0].spec;
  const outDir = typeof out === 'string' ? out : (spec.outDir ?? join('runs', job.name));
  const resume = args.options.get('resume') === true;
  if (resume && (await readJobProgress(outDir)) === null) throw new Error(`cannot resume: ${outDir} holds no job (no progress.json)`);

  const controller = new AbortController();
  const stop = () => {
    console.error('\nunilab: stopping after the current step (a checkpoint is written; continue with --resume)');
    controller.abort();
  };
  process.once('SIGINT', stop);
  const printer = new JobProgressPrinter(job.totalSteps);
  console.log(`unilab: job "${job.name}": ${job.stages.length} stage(s), ${job.totalSteps} steps, output in ${outDir}`);
  try {
    const outcome = await runStages({ job, outDir, registry, resume, signal: controller.signal, onEvent: (e) => printer.handle(e) });
    printer.finish();
    if (outcome.status === 'cancelled') {
      console.log(`unilab: stopped at step ${outcome.globalStep}; checkpoint ${outcome.checkpoint}`);
      return 1;
    }
    if (outcome.status === 'stopped') {
      console.log(`unilab: ${outcome.reason}`);
      return 1;
    }
    console.log(`unilab: done at step ${outcome.globalStep}; checkpoint ${outcome.checkpoint}`);
    console.log(`try: npx unilab generate ${outcome.checkpoint} --prompt "Fellow citizens"`);
    return 0;
  } finally {
    printer.finish();
    process.off('SIGINT', stop);
  }
}

export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new Error(`${what} ${path} does not exist`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Prints a job's events, whether they come from runStages in this process or over SSE from the server: a progress
 * bar over the job's global steps, and one line per stage change, evaluation, checkpoint, gate and status.
 */
export class JobProgressPrinter {
  private bar: ProgressBar | null = null;

  constructor(private readonly totalSteps: number) {}

  handle(e: JobLogEvent): void {
    const log = (line: string) => (this.bar ? this.bar.log(line) : console.error(line));
    const stage = 'stage' in e ? `stage ${e.stage + 1}` : '';
    switch (e.type) {
      case 'stage':
        log(`${stage} "${e.name}", attempt ${e.attempt + 1} (seed ${e.seed}): ${e.steps} steps from job step ${e.globalStart}${e.resumed ? ', resuming from its checkpoint' : ''}`);
        break;
      case 'start': {
        this.bar = new ProgressBar(this.totalSteps, e.globalStep);
        const data = 'trainTokens' in e ? `${e.trainTokens} train / ${e.heldOutTokens} held-out tokens` : `${e.trainExamples} train / ${e.heldOutExamples} held-out examples`;
        log(`${stage}: ${(e.parameters / 1e6).toFixed(3)}M parameters, ${data}${e.resumedFrom ? `, resumed at step ${e.startStep}` : ''}`);
        break;
      }
      case 'step':
        this.bar?.update(e.globalStep, e.loss, typeof e.tokens === 'number' ? e.tokens : 0, stage);
        break;
      case 'eval':
        if (e.heldOutLoss !== undefined) log(`step ${e.globalStep}: held-out loss ${e.heldOutLoss.toFixed(4)} nats/token`);
        break;
      case 'checkpoint':
        log(`checkpoint at step ${e.globalStep}: ${e.path}`);
        break;
      case 'gate': {
        // The relation that holds: the gate's own (pre-training gates pass at or below the threshold), or its negation.
        const passes = 'comparison' in e ? e.comparison : '<=';
        log(`${stage} gate: ${e.metric} ${e.value.toFixed(4)} ${e.passed ? passes : passes === '<=' ? '>' : '<'} ${e.threshold}: ${e.passed ? 'passed' : 'failed'}, ${e.next}`);
        break;
      }
      case 'stage-complete':
        log(`${stage} "${e.name}" done at step ${e.globalStep}${'heldOutLoss' in e ? `: held-out loss ${e.heldOutLoss.toFixed(4)}` : ''}`);
        break;
      case 'status':
        log(`status ${e.status}${e.message ? `: ${e.message}` : ''}`);
        break;
      case 'cancel-requested':
      case 'worker-lost':
        log(e.message);
        break;
      case 'checkpoint-skipped':
        log(`skipped a damaged checkpoint (${e.by}): ${e.reason}`);
        break;
    }
  }

  finish(): void {
    this.bar?.finish();
    this.bar = null;
  }
}
