import { parameterCount } from '@unilab/core';
import { objectiveLabel } from '@unilab/runner';
import { evaluateFewShot } from '../few-shot/few-shot.ts';
import { choiceContinuation } from '../few-shot/prompt.ts';
import { continuationFits, fewShotReading, modelScoreFn } from '../few-shot/model-score-fn.ts';
import { evaluateLikelihood } from '../report.ts';
import { describeContinuationFormat, type ScoringModel } from '../scoring.ts';
import type { EvalReport, FewShotFigure, FewShotSection } from './eval-report.ts';
import { suiteConfig, type SuiteConfig, type SuiteName } from './suite-config.ts';
import { suiteChoiceTasks } from './suite-tasks.ts';

export interface SuiteRunOptions {
  /** The checkpoint's path, recorded in the report. */
  checkpoint: string;
  /** One line per finished measurement, for a progress display. */
  onProgress?(line: string): void;
}

/**
 * Run a suite on a loaded checkpoint: bits per byte and mode-wise NLL (evaluateLikelihood), then few-shot tasks. A
 * section the model cannot take (a masked LM continues no text) is skipped with the reason, not failed.
 */
export async function runEvalSuite(model: ScoringModel, suite: SuiteName, options: SuiteRunOptions): Promise<EvalReport> {
  const started = performance.now();
  const config = suiteConfig(suite);
  const progress = options.onProgress ?? (() => {});
  const skipped: EvalReport['skipped'] = {};
  const cannotContinue = `no objective this model trained declares how it continues text (${objectiveLabel(model.spec.objective)} on ${model.model.architecture})`;

  let likelihood: EvalReport['likelihood'] = null;
  if (model.presentation.lm) {
    likelihood = await evaluateLikelihood(model, { ...config.likelihood, seed: config.seed });
    progress(`bits per byte on ${likelihood.bitsPerByte.domains.length} domains, mode-wise NLL (${likelihood.modes.results.map((m) => m.mode).join(', ')})`);
  } else skipped.likelihood = cannotContinue;

  let fewShot: FewShotSection | null = null;
  if (model.presentation.seq2seq || model.presentation.lm) fewShot = await runFewShot(model, config, progress);
  else skipped.fewShot = cannotContinue;

  return {
    format: 'unilab-eval/1',
    suite,
    checkpoint: options.checkpoint,
    model: {
      architecture: model.model.architecture,
      objective: objectiveLabel(model.spec.objective),
      seqLen: model.seqLen,
      vocabSize: model.tokenizer.vocabSize,
      parameters: parameterCount(model.model.params),
    },
    likelihood,
    fewShot,
    skipped,
    seconds: (performance.now() - started) / 1000,
  };
}

async function runFewShot(model: ScoringModel, config: SuiteConfig, progress: (line: string) => void): Promise<FewShotSection> {
  const reading = fewShotReading(model);
  const score = modelScoreFn(model, reading);
  const results: FewShotFigure[] = [];
  const skippedTasks: FewShotSection['skippedTasks'] = [];
  for (const task of await suiteChoiceTasks(config)) {
    const tooLong = task.test.flatMap((item) => item.choices).find((choice) => !continuationFits(model, reading, choiceContinuation(choice)));
    if (tooLong !== undefined) {
      skippedTasks.push({ task: task.name, reason: `the choice ${JSON.stringify(tooLong)} does not fit the model's context of ${model.seqLen} tokens` });
      progress(`few-shot ${task.name}: skipped, ${skippedTasks.at(-1)!.reason}`);
      continue;
    }
    for (const shots of config.shots) {
      const r = await evaluateFewShot(task, score, { shots, seed: config.seed });
      results.push({
        task: task.name,
        description: task.description,
        shots,
        n: r.n,
        acc: r.acc,
        accNorm: r.accNorm,
        chance: r.chance,
        truncated: r.truncated,
        correct: r.items.map((i) => (i.pick === i.gold ? 1 : 0)),
        correctNorm: r.items.map((i) => (i.pickNorm === i.gold ? 1 : 0)),
      });
      progress(`few-shot ${task.name} k=${shots}: acc ${r.acc.value.toFixed(3)} (n ${r.n}, chance ${r.chance.toFixed(3)})`);
    }
  }
  return { reading: `${reading}: ${describeContinuationFormat(model, reading)}`, results, skippedTasks };
}
