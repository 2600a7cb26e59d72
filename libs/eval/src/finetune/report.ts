import type { FinetuneResult } from './finetune.ts';

const pct = (x: number, digits = 1) => `${(100 * x).toFixed(digits)}%`;

/**
 * The fine-tuning table: per method, trainable parameters (and their share of the tuned model), test accuracy with
 * its 95% Wilson interval and sample size, the task's chance level, training wall time and steps. Markdown, so the
 * same text goes to a terminal and into docs.
 */
export function formatFinetuneTable(results: readonly FinetuneResult[]): string {
  const header = '| method | trainable params | accuracy (95% CI) | n | chance | train time | steps |';
  const rule = '|---|---:|---|---:|---:|---:|---:|';
  const rows = results.map((r) =>
    [
      '',
      ` ${r.method} `,
      ` ${r.trainableParams.toLocaleString('en-US')} (${pct(r.trainableParams / r.totalParams, 2)}) `,
      ` ${pct(r.accuracy)} [${pct(r.ci95.low)}, ${pct(r.ci95.high)}] `,
      ` ${r.n} `,
      ` ${pct(r.chance)} `,
      ` ${r.trainSeconds.toFixed(1)} s `,
      ` ${r.steps} `,
      '',
    ].join('|'),
  );
  return [header, rule, ...rows].join('\n');
}
