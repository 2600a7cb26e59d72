import { analysisFindings, meanEffectiveRank, sourceShareChange } from './analysis-findings.ts';
import { fmt, reportMetrics, BITS_PER_BYTE, FEW_SHOT, type ConditionFigure } from './condition-metrics.ts';
import { paradigmFindings, type Finding } from './findings.ts';
import type { StudyAnalyses } from './study-analyses.ts';
import { intervalChart, lineChart, type LineSeries } from './svg-plots.ts';
import type { Condition, SweepResults } from './sweep-results.ts';
import { absoluteRows, relativeTable } from './ul2-table.ts';

/** The report: its Markdown (which links the plots by file name) and the plots' SVG text by file name. */
export interface StudyReport {
  markdown: string;
  plots: Map<string, string>;
  findings: Finding[];
}

export interface StudyReportOptions {
  /** The command that produced the sweep, printed in the header. */
  command?: string;
  /** When the report was generated (ISO); default now. */
  generatedAt?: string;
}

const conditionName = (c: Condition, withSize: boolean, withVariant: boolean) =>
  `${withSize ? `${c.size} ` : ''}${c.architecture} + ${c.objective}${withVariant ? ` (${c.variant})` : ''}`;

/** What every section reads: the results, the metrics reported, the condition names, and where plots go. */
interface ReportContext {
  results: SweepResults;
  metrics: ReturnType<typeof reportMetrics>;
  sizes: string[];
  variants: string[];
  seeds: number[];
  name: (c: Condition) => string;
  /** The conditions of the first variant (the grid the paradigm comparisons are made on). */
  reference: (c: Condition) => boolean;
  plots: Map<string, string>;
}

/** The study's report from a sweep's results and its analyses: every number is read from them. */
export function studyReport(results: SweepResults, analyses: StudyAnalyses | null, options: StudyReportOptions = {}): StudyReport {
  const sizes = [...new Set(results.conditions.map((c) => c.size))];
  const variants = [...new Set(results.conditions.map((c) => c.variant))];
  const ctx: ReportContext = {
    results,
    metrics: reportMetrics(results.conditions),
    sizes,
    variants,
    seeds: [...new Set(results.manifest.cells.map((c) => c.seed))],
    name: (c) => conditionName(c, sizes.length > 1, variants.length > 1),
    reference: (c) => c.variant === variants[0],
    plots: new Map<string, string>(),
  };
  const findings = studyFindings(ctx, analyses);
  const md = [
    ...headerSection(ctx, options),
    ...cellsSection(ctx),
    ...lossSection(ctx),
    ...resultsSection(ctx),
    ...baselinesSection(ctx),
    ...ablationsSection(ctx),
    ...analysesSection(ctx, analyses),
    ...findingsSection(findings),
  ];
  return { markdown: md.join('\n'), plots: ctx.plots, findings };
}

function headerSection({ results, seeds }: ReportContext, options: StudyReportOptions): string[] {
  const { manifest } = results;
  const done = manifest.cells.filter((c) => c.status === 'done').length;
  return [
    `# Paradigm study report: ${manifest.name}`,
    '',
    `${manifest.experiment.description ?? ''}`.trim(),
    '',
    `- sweep directory: \`${results.dir}\``,
    ...(options.command ? [`- command: \`${options.command}\``] : []),
    `- sweep started ${manifest.createdAt}, last updated ${manifest.updatedAt} (${((Date.parse(manifest.updatedAt) - Date.parse(manifest.createdAt)) / 60_000).toFixed(1)} min of wall time, training and evaluation, resumptions included); report generated ${options.generatedAt ?? new Date().toISOString()}`,
    `- ${manifest.cells.length} cells (${done} done), ${seeds.length} seed${seeds.length === 1 ? '' : 's'} (${seeds.join(', ')}), scale ${manifest.scale}, matched by ${manifest.experiment.match?.by ?? 'parameters'}; ${manifest.skipped.length} pairs refused by the plugins`,
    `- evaluation: the \`${results.suite ?? 'none'}\` suite of \`unilab eval\` on each cell's final checkpoint`,
    '',
  ];
}

/** Cells and compute. */
function cellsSection({ results: { manifest } }: ReportContext): string[] {
  const md: string[] = [];
  md.push('## Cells: parameters and FLOPs spent', '');
  md.push('FLOPs are training FLOPs actually computed (rows as the kernels see them, padding included; 3 × forward).', '');
  md.push('| cell | status | parameters | match error | GFLOPs/step | steps | FLOPs spent | held-out loss (own objective) | seconds |', '|---|---|---|---|---|---|---|---|---|');
  for (const c of manifest.cells)
    md.push(
      `| ${c.id} | ${c.status} | ${(c.parameters / 1e6).toFixed(3)}M | ${(100 * c.match.error).toFixed(1)}% | ${(c.flopsPerStep / 1e9).toFixed(3)} | ${c.step}/${c.spec.train.steps} | ${c.flops === null ? '–' : c.flops.toExponential(3)} | ${c.heldOutLoss === null ? '–' : c.heldOutLoss.toFixed(4)} | ${Math.round(c.wallSeconds)} |`,
    );
  const totalFlops = manifest.cells.reduce((s, c) => s + (c.flops ?? 0), 0);
  md.push('', `Total: ${totalFlops.toExponential(3)} training FLOPs, ${Math.round(manifest.cells.reduce((s, c) => s + c.wallSeconds, 0))} s of training.`, '');
  for (const s of manifest.skipped) md.push(`- refused: ${s.architecture} × ${s.objective}${s.variant !== 'base' ? ` (${s.variant})` : ''}: ${s.reason}`);
  if (manifest.skipped.length > 0) md.push('');
  return md;
}

function lossSection({ results, name, plots }: ReportContext): string[] {
  plots.set('loss-curves.svg', lossCurves(results.conditions, name));
  return ['## Training loss', '', 'Training loss per step (mean over seeds, moving average of 10 steps). Each objective has its own targets, so curves compare within an objective, not across.', '', '![training loss](loss-curves.svg)', ''];
}

/** Absolute results: mean and 95% interval per condition, and their interval plots. */
function resultsSection({ results, metrics, seeds, name, plots }: ReportContext): string[] {
  const md: string[] = [];
  md.push('## Results: mean and 95% interval', '');
  md.push(
    seeds.length > 1
      ? 'Each figure is the mean over seeds with its 95% t interval over seeds.'
      : 'One seed: each interval is the cell\'s own (bootstrap over documents for bits per byte and NLL, Wilson for accuracy); intervals over seeds need two or more seeds.',
    '',
  );
  md.push(`| condition | seeds | parameters | FLOPs spent per cell | ${metrics.map((m) => `${m.label} ${m.better === 'lower' ? '↓' : '↑'}`).join(' | ')} |`, `|---|---|---|---|${metrics.map(() => '---').join('|')}|`);
  for (const row of absoluteRows(results.conditions, metrics)) {
    const cells = row.condition.cells;
    const flops = cells.filter((c) => c.record.flops !== null);
    md.push(
      `| ${name(row.condition)} | ${cells.filter((c) => c.evaluation).length} | ${(cells.reduce((s, c) => s + c.record.parameters, 0) / cells.length / 1e6).toFixed(3)}M | ${flops.length === 0 ? '–' : (flops.reduce((s, c) => s + c.record.flops!, 0) / flops.length).toExponential(3)} | ${row.figures.map(figureText).join(' | ')} |`,
    );
  }
  md.push('');
  for (const [file, metric] of [['bits-per-byte.svg', BITS_PER_BYTE], ['few-shot.svg', FEW_SHOT]] as const) {
    const rows = absoluteRows(results.conditions, [metric]).filter((r) => r.figures[0] !== null);
    plots.set(file, intervalChart({ title: `${metric.label} (${metric.better} is better), 95% intervals`, xLabel: metric.label, rows: rows.map((r) => ({ name: name(r.condition), ...r.figures[0]!, value: r.figures[0]!.value })) }));
    md.push(`![${metric.label}](${file})`, '');
  }
  return md;
}

/** UL2 Tables 3-4: each condition relative to the GPT-like and the T5 baseline. */
function baselinesSection({ results, metrics, sizes, name, reference }: ReportContext): string[] {
  const md: string[] = [];
  md.push('## Relative to the baselines (UL2 Tables 3-4)', '');
  md.push(
    'As in Tay et al. 2022 (UL2), §4, Tables 3 and 4: each condition\'s metrics as a relative change from a baseline, in %, signed so that **positive is better** for every metric. ' +
      '`*` marks a difference from the baseline that is significant (Welch over seeds with two or more seeds; otherwise McNemar on the same items for accuracy, non-overlapping 95% intervals for the rest); without `*` there is no significant difference.',
    '',
  );
  for (const [title, arch, objective] of [
    ['Relative to decoder + clm (UL2 Table 3, "GPT-like")', 'decoder', 'clm'],
    ['Relative to encoder-decoder + span-corruption (UL2 Table 4, "T5")', 'encoder-decoder', 'span-corruption'],
  ] as const) {
    for (const size of sizes) {
      const pool = results.conditions.filter((c) => c.size === size && reference(c));
      const table = relativeTable(pool, metrics, (c) => c.architecture === arch && c.objective === objective, `${arch} + ${objective}`);
      md.push(`### ${title}${sizes.length > 1 ? `, size ${size}` : ''}`, '');
      if (!table.rows) {
        md.push(`The baseline ${table.baseline} is not in this sweep.`, '');
        continue;
      }
      md.push(`| condition | ${metrics.map((m) => m.label).join(' | ')} |`, `|---|${metrics.map(() => '---').join('|')}|`);
      for (const row of table.rows)
        md.push(`| ${name(row.condition)} | ${row.cells.map((c) => (c ? `${c.percent >= 0 ? '+' : ''}${c.percent.toFixed(1)}%${c.comparison.outcome !== 'no-difference' ? '*' : ''}` : '–')).join(' | ')} |`);
      md.push('');
    }
  }
  return md;
}

/** Each variant against the first on the same grid point. */
function ablationsSection({ results, metrics, variants, reference }: ReportContext): string[] {
  if (variants.length <= 1) return [];
  const md: string[] = [];
  md.push('## Ablations', '', `Each variant against the first, \`${variants[0]}\`, on the same grid point; relative change in % (positive is better), \`*\` significant as above.`, '');
  md.push(`| grid point | variant | ${metrics.map((m) => m.label).join(' | ')} |`, `|---|---|${metrics.map(() => '---').join('|')}|`);
  const points = [...new Set(results.conditions.map((c) => `${c.size}|${c.architecture}|${c.objective}`))];
  for (const point of points) {
    const group = results.conditions.filter((c) => `${c.size}|${c.architecture}|${c.objective}` === point);
    const base = group.find(reference);
    if (!base) continue;
    const table = relativeTable(group, metrics, reference, variants[0]);
    for (const row of table.rows ?? []) {
      const absolute = absoluteRows([row.condition], metrics)[0].figures;
      md.push(
        `| ${point.replaceAll('|', ' ')} | ${row.condition.variant} | ${row.cells.map((c, k) => `${figureText(absolute[k])}${c && !reference(row.condition) ? ` (${c.percent >= 0 ? '+' : ''}${c.percent.toFixed(1)}%${c.comparison.outcome !== 'no-difference' ? '*' : ''})` : ''}`).join(' | ')} |`,
      );
    }
  }
  md.push('');
  return md;
}

/** Attention rank (Su 2023) and attention degeneration (Fu et al. 2023), with their plots. */
function analysesSection({ plots }: ReportContext, analyses: StudyAnalyses | null): string[] {
  if (!analyses) return ['## Analyses', '', 'Not run (`unilab report --no-analyses`).', ''];
  return ['## Analyses', '', ...rankAnalysis(plots, analyses.rank), ...degenerationAnalysis(plots, analyses.degeneration)];
}

function rankAnalysis(plots: Map<string, string>, rank: StudyAnalyses['rank']): string[] {
  const md: string[] = [];
  md.push('### Attention rank (Su 2023)', '');
  md.push('Per head, the attention matrix of the model\'s own queries and keys on held-out text under a causal and a bidirectional mask; its effective rank (Roy & Vetterli) and numerical rank (σ > 10⁻³ σ₁). The plot shows the mean normalised singular-value spectrum σᵢ/σ₁.', '');
  md.push('| model | windows × length | causal effective rank | bidirectional effective rank | causal numerical rank | bidirectional numerical rank |', '|---|---|---|---|---|---|');
  for (const r of rank) {
    const num = (mask: string) => r.heads.filter((h) => h.mask === mask).reduce((s, h, _, all) => s + h.numericalRank / all.length, 0);
    md.push(`| ${r.cell} | ${r.windows} × ${r.length} | ${estimateText(meanEffectiveRank(r, 'causal'))} | ${estimateText(meanEffectiveRank(r, 'bidirectional'))} | ${num('causal').toFixed(1)} | ${num('bidirectional').toFixed(1)} |`);
  }
  md.push('');
  plots.set(
    'attention-rank.svg',
    lineChart({
      title: 'Attention singular-value spectra: causal vs bidirectional mask',
      xLabel: 'singular value index',
      yLabel: 'σᵢ / σ₁ (mean over heads)',
      logY: true,
      series: rank.flatMap((r) => (['causal', 'bidirectional'] as const).map((mask): LineSeries => ({ name: `${r.architecture} (${r.objective}) ${mask}`, points: r.meanSpectrum[mask].map((v, i) => [i + 1, v]), dashed: mask === 'bidirectional' }))),
    }),
  );
  md.push('![attention rank spectra](attention-rank.svg)', '');
  return md;
}

function degenerationAnalysis(plots: Map<string, string>, degeneration: StudyAnalyses['degeneration']): string[] {
  const md: string[] = [];
  md.push('### Attention degeneration (Fu et al. 2023)', '');
  md.push(
    'At each generation step, the source (prompt) share of what attention writes into the residual stream, mean over layers and prompts: for a decoder-only model the prompt\'s part of its self-attention output; for the encoder-decoder its cross-attention against its decoder self-attention. ' +
      'For decoder-only models the dashed line is the softmax mass on the prompt. Change = last quarter minus first quarter of the steps (step 0 left out), interval by bootstrap over prompts.',
    '',
  );
  md.push('| model | prompts × tokens | steps | source share, first step | source share, last step | change |', '|---|---|---|---|---|---|');
  const layerMean = (rows: number[][]) => rows[0].map((_, t) => rows.reduce((s, r) => s + r[t], 0) / rows.length);
  for (const d of degeneration) {
    const share = layerMean(d.mean.map((l) => l.sourceShare.slice(0, d.steps)));
    const change = sourceShareChange(d);
    md.push(`| ${d.cell} | ${d.prompts.length} × ${d.promptTokens} | ${d.steps} (${d.continuation}) | ${share[0].toFixed(3)} | ${share[share.length - 1].toFixed(3)} | ${change ? estimateText(change) : '–'} |`);
  }
  md.push('');
  plots.set(
    'attention-degeneration.svg',
    lineChart({
      title: 'Attention on the source as generation proceeds',
      xLabel: 'generation step',
      yLabel: 'source share (mass: dashed)',
      series: degeneration.flatMap((d): LineSeries[] => {
        const share = layerMean(d.mean.map((l) => l.sourceShare.slice(0, d.steps)));
        const out: LineSeries[] = [{ name: `${d.architecture} (${d.objective}) share`, points: share.map((v, t) => [t, v]) }];
        if (d.mean.every((l) => l.sourceMass)) {
          const mass = layerMean(d.mean.map((l) => l.sourceMass!.slice(0, d.steps)));
          out.push({ name: `${d.architecture} (${d.objective}) mass`, points: mass.map((v, t) => [t, v]), dashed: true });
        }
        return out;
      }),
    }),
  );
  md.push('![attention degeneration](attention-degeneration.svg)', '');
  return md;
}

/** The findings the seed question asks for, per size, and the analyses' own. */
function studyFindings({ results, sizes, reference }: ReportContext, analyses: StudyAnalyses | null): Finding[] {
  const findings: Finding[] = [];
  for (const size of sizes)
    for (const f of paradigmFindings(results.conditions.filter((c) => c.size === size && reference(c))))
      findings.push(sizes.length > 1 ? { ...f, id: `${f.id} (size ${size})` } : f);
  if (analyses) findings.push(...analysisFindings(analyses));
  return findings;
}

function findingsSection(findings: readonly Finding[]): string[] {
  const md: string[] = [];
  md.push('## Findings', '');
  md.push(
    'Generated from the numbers above: each claim the seed question cites, the comparison this sweep makes to test it, and what the comparison found on each metric. ' +
      '"Agrees" needs every comparison significant in the claimed direction (for a claim of *no* advantage: none significantly against it); "no significant difference" when the intervals overlap or the paired test does not reject.',
    '',
  );
  for (const f of findings) {
    const partly = (v: { tested: number; comparisons: unknown[] }) => (v.tested > 0 && v.tested < v.comparisons.length ? ` (${v.tested} of ${v.comparisons.length} tested)` : '');
    md.push(`### ${f.id}: ${f.verdicts.map((v) => `${v.verdict}${partly(v)}`).join(' / ')}`, '');
    md.push(`- **Source:** ${f.source}`, `- **Claim:** ${f.claim}`, `- **Comparison:** ${f.test}`);
    for (const v of f.verdicts) md.push(`- ${v.sentence}`);
    md.push('');
  }
  return md;
}

function figureText(f: ConditionFigure | null): string {
  if (!f) return '–';
  return Number.isNaN(f.low) ? fmt(f.value) : `${fmt(f.value)} [${fmt(f.low)}, ${fmt(f.high)}]`;
}

function estimateText(e: { value: number; low: number; high: number }): string {
  return Number.isNaN(e.low) ? fmt(e.value) : `${fmt(e.value)} [${fmt(e.low)}, ${fmt(e.high)}]`;
}

/** Training loss per condition: mean over seeds at each step, then a trailing moving average of 10 steps. */
function lossCurves(conditions: readonly Condition[], name: (c: Condition) => string): string {
  const series: LineSeries[] = [];
  for (const c of conditions) {
    const byStep = new Map<number, number[]>();
    for (const cell of c.cells) for (const p of cell.curve) (byStep.get(p.step) ?? byStep.set(p.step, []).get(p.step)!).push(p.loss);
    const steps = [...byStep.keys()].sort((a, b) => a - b);
    const mean = steps.map((s) => byStep.get(s)!.reduce((a, b) => a + b, 0) / byStep.get(s)!.length);
    const smooth = mean.map((_, i) => {
      const window = mean.slice(Math.max(0, i - 9), i + 1);
      return window.reduce((a, b) => a + b, 0) / window.length;
    });
    if (steps.length > 0) series.push({ name: name(c), points: steps.map((s, i) => [s, smooth[i]]), dashed: c.architecture === 'encoder-decoder' });
  }
  return lineChart({ title: 'Training loss', xLabel: 'step', yLabel: 'loss (nats/token, own objective)', series, height: 380 });
}

