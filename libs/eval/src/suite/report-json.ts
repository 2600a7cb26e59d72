import type { EvalReport } from './eval-report.ts';

/** The report as JSON for a file or a response: indented, with each list of numbers (per-item outcomes) on one line. */
export function reportJson(report: EvalReport): string {
  return `${JSON.stringify(report, null, 1).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, inner: string) => `[${inner.split(/,\s*/).join(',')}]`)}\n`;
}
