import { join } from 'node:path';
import { readSweepResults, studyAnalyses, studyReport, writeStudyReport } from '@unilab/eval';
import { parseArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';

const USAGE = 'usage: unilab report <sweep dir> [--out DIR] [--no-analyses] [--refresh-analyses] [--command "the sweep\'s command"] [--config unilab.config.json]';

/**
 * `unilab report runs/sweeps/paradigms`: the study's report from a sweep directory: Markdown, one self-contained
 * HTML page and SVG plots (loss curves, the UL2-style tables, intervals over seeds, FLOPs per cell, the ablation
 * table, the attention-rank and attention-degeneration analyses, and the findings generated from the numbers).
 * The analyses run on a few final checkpoints the first time and are kept in <sweep>/analyses/.
 */
export async function reportCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['no-analyses', 'refresh-analyses']);
  const dir = args.positionals[0];
  if (!dir || args.positionals.length > 1) throw new Error(USAGE);
  const out = args.options.get('out');
  if (out === true) throw new Error(`--out: expected a directory\n${USAGE}`);
  const command = args.options.get('command');
  if (command === true) throw new Error(`--command: expected the command line that ran the sweep\n${USAGE}`);
  const results = await readSweepResults(dir);
  const analyses =
    args.options.get('no-analyses') === true
      ? null
      : await studyAnalyses(results, {
          registry: await registryFromArgs(args),
          refresh: args.options.get('refresh-analyses') === true,
          onProgress: (line) => console.error(`unilab: ${line}`),
        });
  const report = studyReport(results, analyses, { command });
  const files = await writeStudyReport(out ?? join(dir, 'report'), report);
  for (const f of report.findings) console.log(`${f.id}: ${f.verdicts.map((v) => `${v.metric.label}: ${v.verdict}`).join('; ')}`);
  console.log(`unilab: report written: ${files.join(', ')}`);
  return 0;
}
