import { formatLikelihoodReport } from '../report.ts';
import type { Proportion } from '../stats/proportion.ts';
import type { EvalReport } from './eval-report.ts';

/** The report as text for a terminal: every figure with n, its 95% interval and the chance level beside it. */
export function formatEvalReport(report: EvalReport): string {
  const m = report.model;
  const lines = [
    report.checkpoint,
    `${m.architecture} trained by ${m.objective}, ${formatCount(m.parameters)} parameters, vocab ${m.vocabSize}, context ${m.seqLen} tokens; suite ${report.suite} (${report.seconds.toFixed(1)} s)`,
    '',
  ];
  if (report.likelihood) lines.push(formatLikelihoodReport(report.likelihood).split('\n').slice(2).join('\n'), '');
  else lines.push(`bits per byte and mode-wise NLL: skipped, ${report.skipped.likelihood}`, '');
  if (report.fewShot) {
    lines.push(
      'few-shot in-context learning: log-likelihood of each choice; acc_norm per byte of the choice; 95% Wilson CI',
      `  read as ${report.fewShot.reading}`,
      table(
        ['task', 'k', 'n', 'acc', '95% CI', 'acc_norm', '95% CI', 'chance', 'cut'],
        report.fewShot.results.map((r) => [r.task, String(r.shots), String(r.n), fixed(r.acc.value), interval(r.acc), fixed(r.accNorm.value), interval(r.accNorm), fixed(r.chance), String(r.truncated)]),
      )
        .split('\n')
        .map((line) => `  ${line}`)
        .join('\n'),
      '  cut: prompts whose left end was cut to fit the context (lm-evaluation-harness truncation)',
      ...report.fewShot.skippedTasks.map((s) => `  ${s.task}: skipped, ${s.reason}`),
    );
  } else lines.push(`few-shot in-context learning: skipped, ${report.skipped.fewShot}`);
  return lines.join('\n');
}

const fixed = (x: number) => x.toFixed(3);
const interval = (p: Proportion) => `[${fixed(p.ci95[0])}, ${fixed(p.ci95[1])}]`;

function formatCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

/** Left-aligned text columns, right-aligned numeric ones, two spaces apart. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => /^[\d.[\], -]+$/.test(r[c])));
  const line = (cells: readonly string[]) => cells.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
