import { parameterCount } from '@unilab/core';
import { evaluateFewShot } from '../few-shot/few-shot.ts';
import { fewShotReading, modelScoreFn } from '../few-shot/model-score-fn.ts';
import { describeContinuationFormat, type ScoringModel } from '../scoring.ts';
import type { EvalReport, FewShotFigure } from './eval-report.ts';
import { suiteConfig, type SuiteName } from './suite-config.ts';
import { suiteChoiceTasks } from './suite-tasks.ts';

export interface SuiteRunOptions {
  /** The checkpoint's path, recorded in the report. */
  checkpoint: string;
  /** One line per finished measurement, for a progress display. */
  onProgress?(line: string): void;
}

/** Run a suite on a loaded checkpoint. */
export async function runEvalSuite(model: ScoringModel, suite: SuiteName, options: SuiteRunOptions): Promise<EvalReport> {
  const started = performance.now();
  const config = suiteConfig(suite);
  const progress = options.onProgress ?? (() => {});
  const reading = fewShotReading(model);
  const score = modelScoreFn(model, reading);
  const results: FewShotFigure[] = [];
  for (const task of await suiteChoiceTasks(config)) {
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
  const objective = 'mixture' in model.spec.objective ? model.spec.objective.mixture.map((c) => c.name).join('+') : model.spec.objective.name;
  return {
    format: 'unilab-eval/1',
    suite,
    checkpoint: options.checkpoint,
    model: { architecture: model.model.architecture, objective, seqLen: model.seqLen, parameters: parameterCount(model.model.params) },
    fewShot: { reading: `${reading}: ${describeContinuationFormat(model, reading)}`, results },
    seconds: (performance.now() - started) / 1000,
  };
}
