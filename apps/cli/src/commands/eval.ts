import { stat } from 'node:fs/promises';
import { formatEvalReport, loadScoringModel, reportJson, runEvalSuite, suiteConfig, type EvalReport } from '@unilab/eval';
import { latestCheckpoint, readJobProgress, writeFileAtomic } from '@unilab/runner';
import { parseArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';

const USAGE = 'usage: unilab eval <checkpoint.safetensors | run directory> [--suite default|quick] [--json out.json] [--config unilab.config.json]';

/**
 * `unilab eval <checkpoint | run dir>`: the evaluation suite on one checkpoint. Prints a table (every figure with
 * n, its 95% interval and the chance level) and, with --json, writes the full report (with per-item outcomes, for
 * paired comparisons between models).
 */
export async function evalCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const target = args.positionals[0];
  if (!target || args.positionals.length > 1) throw new Error(USAGE);
  const suite = args.options.get('suite') ?? 'default';
  if (typeof suite !== 'string') throw new Error(`--suite: expected default or quick\n${USAGE}`);
  suiteConfig(suite);
  const json = args.options.get('json');
  if (json === true) throw new Error(`--json: expected the path of the report to write\n${USAGE}`);
  const checkpoint = await resolveCheckpoint(target);
  const model = await loadScoringModel(checkpoint, await registryFromArgs(args));
  const report: EvalReport = await runEvalSuite(model, suite as 'default' | 'quick', {
    checkpoint,
    onProgress: (line) => process.stderr.write(`${line}\n`),
  });
  console.log(formatEvalReport(report));
  if (typeof json === 'string') {
    await writeFileAtomic(json, new TextEncoder().encode(reportJson(report)));
    console.log(`report written: ${json}`);
  }
  return 0;
}

/**
 * A checkpoint file as given; a run directory's newest intact checkpoint (`unilab train --out DIR`); a multi-stage
 * job directory's last completed stage (`unilab run --out DIR`), else the newest checkpoint of the stage it is in.
 */
export async function resolveCheckpoint(target: string): Promise<string> {
  let info;
  try {
    info = await stat(target);
  } catch {
    throw new Error(`${target} does not exist: expected a checkpoint (.safetensors) or a run directory`);
  }
  if (info.isFile()) return target;
  const progress = await readJobProgress(target);
  const finished = progress?.completed.at(-1)?.checkpoint;
  if (finished) return finished;
  const latest = await latestCheckpoint(target);
  if (latest) return latest.path;
  throw new Error(`${target} holds no intact checkpoint (looked for ${target}/checkpoints/step-*.safetensors and a finished stage in ${target}/progress.json)`);
}
