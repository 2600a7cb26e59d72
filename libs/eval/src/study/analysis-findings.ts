import { bootstrapMean, type Estimate } from '../stats/bootstrap.ts';
import type { ConditionFigure, MetricDef } from './condition-metrics.ts';
import { judge, type Finding, type Side } from './findings.ts';
import type { DegenerationAnalysis, RankAnalysis, StudyAnalyses } from './study-analyses.ts';

/** A figure from an analysis, its interval a bootstrap over its units (heads, prompts). */
function estimateFigure(e: Estimate): ConditionFigure {
  return { value: e.value, low: e.low, high: e.high, seeds: 1, basis: 'within-cell', perSeed: [e.value], variance: NaN };
}

const figureSide = (label: string, e: Estimate | null): Side => (e ? { label, figure: () => estimateFigure(e) } : { label, missing: true });

/** Mean effective rank over every head and window under one mask, with a bootstrap interval over heads. */
export function meanEffectiveRank(analysis: RankAnalysis, mask: 'causal' | 'bidirectional'): Estimate {
  return bootstrapMean(analysis.heads.filter((h) => h.mask === mask).map((h) => h.effectiveRank), { seed: 1 });
}

/**
 * How much a model's source share falls as generation proceeds: per prompt, the mean over layers of the share in the
 * last quarter of the steps minus that in the first quarter (step 0 left out: there a decoder sees only its prompt,
 * so its share is 1 by construction); the mean over prompts with a bootstrap interval. Negative = degeneration.
 */
export function sourceShareChange(analysis: DegenerationAnalysis): Estimate | null {
  const steps = analysis.steps;
  if (steps < 5) return null;
  const quarter = Math.max(1, Math.floor(steps / 4));
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const drops = analysis.prompts.map((p) => {
    const perLayer = p.layers.map((l) => mean(l.sourceShare.slice(steps - quarter, steps)) - mean(l.sourceShare.slice(1, 1 + quarter)));
    return mean(perLayer);
  });
  return bootstrapMean(drops, { seed: 1 });
}

const RANK: MetricDef = { key: 'effective-rank', label: 'effective rank of the attention matrix (mean over heads)', better: 'higher', ahead: 'higher' };
const SHARE_CHANGE: MetricDef = { key: 'source-share-change', label: 'change of the source share of attention, last quarter minus first quarter of the steps', better: 'higher', ahead: 'higher' };

/** Su's low-rank argument and Fu et al.'s degeneration, tested on the analyses. */
export function analysisFindings(analyses: StudyAnalyses): Finding[] {
  const rank = analyses.rank;
  const findings: Finding[] = [
    {
      id: 'su-causal-attention-full-rank',
      source: 'Su 2023 (kexue.fm/archives/9529), after Dong et al. 2021 (arXiv 2103.03404): causal attention is lower-triangular with a positive diagonal, hence full rank; bidirectional attention over n ≫ d positions tends to low rank',
      claim: 'the causal mask gives attention matrices of higher rank than the bidirectional mask, on the same queries and keys',
      test: `per analysed model (${rank.map((r) => r.cell).join(', ') || 'none'}): mean effective rank under the causal mask against the bidirectional mask, over every head of ${rank[0]?.windows ?? 0} held-out windows of ${rank[0]?.length ?? 0} tokens; interval by bootstrap over heads`,
      verdicts: [
        judge(
          RANK,
          rank.map((r) => ({ a: figureSide(`${r.architecture} (${r.objective}) causal`, meanEffectiveRank(r, 'causal')), b: figureSide(`${r.architecture} (${r.objective}) bidirectional`, meanEffectiveRank(r, 'bidirectional')), expectation: 'better' as const })),
        ),
      ],
    },
  ];
  const deg = analyses.degeneration;
  const decoders = deg.filter((d) => d.architecture !== 'encoder-decoder');
  const encoderDecoder = deg.find((d) => d.architecture === 'encoder-decoder');
  const none: Estimate = { value: 0, low: 0, high: 0, n: 0, level: 0.95 };
  const change = (d: DegenerationAnalysis) => figureSide(`${d.architecture} (${d.objective}) change`, sourceShareChange(d));
  findings.push({
    id: 'fu-attention-degeneration',
    source: 'Fu et al. 2023 ("Decoder-only or encoder-decoder?", arXiv 2304.04052, abstract): in a decoder-only LM "as the generation step number grows, less and less attention is focused on the source sequence"; the encoder-decoder\'s cross-attention reads the source through its own softmax',
    claim: 'the decoder-only models\' attention on the prompt falls as generation proceeds, and falls more than the encoder-decoder\'s',
    test:
      `source share of the attention output (degeneration analysis, ${deg[0]?.prompts.length ?? 0} held-out prompts of ${deg[0]?.promptTokens ?? 0} tokens, ${deg[0]?.steps ?? 0} ${deg[0]?.continuation ?? ''} steps): ` +
      'for each decoder-only model, its change (last quarter minus first quarter of the steps) against no change; then the encoder-decoder\'s change against each decoder-only model\'s; intervals by bootstrap over prompts',
    verdicts: [
      judge(SHARE_CHANGE, [
        ...decoders.map((d) => ({ a: figureSide('no change (0)', none), b: change(d), expectation: 'better' as const })),
        ...decoders.map((d) => ({ a: encoderDecoder ? change(encoderDecoder) : ({ label: 'encoder-decoder', missing: true } as Side), b: change(d), expectation: 'better' as const })),
      ]),
    ],
  });
  return findings;
}
