import { compareFigures, conditionFigure, fmt, BITS_PER_BYTE, FEW_SHOT, type ConditionFigure, type MetricComparison, type MetricDef } from './condition-metrics.ts';
import type { Condition } from './sweep-results.ts';

/**
 * The findings section: each published claim the seed question cites, tested on this sweep's numbers. A claim is
 * a list of expected comparisons between two conditions (or two analysis figures); each comparison's outcome comes
 * from compareFigures (Welch over seeds, McNemar on paired items, or interval overlap), and the verdict from the
 * outcomes alone. Nothing here knows what the answer should be: only what each source claimed.
 */
export type Verdict = 'agrees' | 'partly agrees' | 'disagrees' | 'mixed' | 'no significant difference' | 'not tested';

/** `better`: the source says a beats b. `no-advantage`: the source says a does not beat b (Su's claims). */
export type Expectation = 'better' | 'no-advantage';

export interface ExpectedComparison {
  a: string;
  b: string;
  expectation: Expectation;
  /** Null when a side is missing from the sweep (then `missing` says which). */
  result: MetricComparison | null;
  aFigure: ConditionFigure | null;
  bFigure: ConditionFigure | null;
  missing?: string;
}

export interface MetricVerdict {
  metric: MetricDef;
  comparisons: ExpectedComparison[];
  verdict: Verdict;
  /** Comparisons this sweep could make (both sides present), of comparisons.length. */
  tested: number;
  /** The verdict in one sentence, with the figures. */
  sentence: string;
}

export interface Finding {
  id: string;
  /** Who claimed it, where. */
  source: string;
  claim: string;
  /** The exact comparison this sweep makes to test it. */
  test: string;
  verdicts: MetricVerdict[];
}

/** A side of a comparison: a condition of the sweep (by architecture and objective), or a figure from an analysis. */
export type Side = { label: string; figure: (metric: MetricDef) => ConditionFigure | null } | { label: string; missing: true };

export function conditionSide(conditions: readonly Condition[], architecture: string, objective: string): Side {
  const label = `${architecture} + ${objective}`;
  const c = conditions.find((x) => x.architecture === architecture && x.objective === objective);
  return c ? { label, figure: (m) => conditionFigure(c, m) } : { label, missing: true };
}

/** Judge expected comparisons on one metric. */
export function judge(metric: MetricDef, pairs: readonly { a: Side; b: Side; expectation: Expectation }[]): MetricVerdict {
  const comparisons: ExpectedComparison[] = pairs.map(({ a, b, expectation }) => {
    const missing = [a, b].filter((s) => 'missing' in s).map((s) => s.label);
    const aFigure = 'missing' in a ? null : a.figure(metric);
    const bFigure = 'missing' in b ? null : b.figure(metric);
    if (missing.length > 0 || !aFigure || !bFigure)
      return { a: a.label, b: b.label, expectation, result: null, aFigure, bFigure, missing: missing.length > 0 ? `${missing.join(' and ')} not in this sweep` : `no ${metric.label} for ${!aFigure ? a.label : b.label}` };
    return { a: a.label, b: b.label, expectation, result: compareFigures(aFigure, bFigure, metric), aFigure, bFigure };
  });
  const tested = comparisons.filter((c) => c.result !== null);
  const supports = (c: ExpectedComparison) => (c.expectation === 'better' ? c.result!.outcome === 'a-better' : c.result!.outcome !== 'a-better');
  const contradicts = (c: ExpectedComparison) => (c.expectation === 'better' ? c.result!.outcome === 'b-better' : c.result!.outcome === 'a-better');
  const support = tested.filter(supports).length;
  const against = tested.filter(contradicts).length;
  let verdict: Verdict;
  if (tested.length === 0) verdict = 'not tested';
  else if (against > 0 && support > 0) verdict = 'mixed';
  else if (against > 0) verdict = 'disagrees';
  else if (support === tested.length) verdict = 'agrees';
  else if (support > 0) verdict = 'partly agrees';
  else verdict = 'no significant difference';
  return { metric, comparisons, verdict, tested: tested.length, sentence: sentence(metric, verdict, comparisons) };
}

function sentence(metric: MetricDef, verdict: Verdict, comparisons: readonly ExpectedComparison[]): string {
  const parts = comparisons.map((c) => {
    if (!c.result) return `${c.a} vs ${c.b}: not tested (${c.missing})`;
    const what =
      c.result.outcome === 'no-difference' ? 'no significant difference' : `${c.result.outcome === 'a-better' ? c.a : c.b} ${metric.ahead ?? 'better'}`;
    return `${c.a} ${fmt(c.aFigure!.value)} vs ${c.b} ${fmt(c.bFigure!.value)}: ${what} (${c.result.method})`;
  });
  const tested = comparisons.filter((c) => c.result !== null).length;
  const partly = tested > 0 && tested < comparisons.length ? ` (${tested} of ${comparisons.length} comparisons tested)` : '';
  return `On ${metric.label}, this run ${verdict === 'not tested' ? 'cannot test it' : verdict === 'no significant difference' ? 'finds no significant difference' : verdict}${partly}: ${parts.join('; ')}.`;
}

/** The paradigm claims, tested on `conditions`: one size and one variant of the sweep (the caller picks them). */
export function paradigmFindings(conditions: readonly Condition[]): Finding[] {
  const side = (architecture: string, objective: string) => conditionSide(conditions, architecture, objective);
  const metrics = [BITS_PER_BYTE, FEW_SHOT];
  const objectivesOf = (architecture: string) => new Set(conditions.filter((c) => c.architecture === architecture).map((c) => c.objective));
  const shared = (x: string, y: string) => [...objectivesOf(x)].filter((o) => objectivesOf(y).has(o));
  const edShared = shared('encoder-decoder', 'prefix-lm');
  const withPrompt = shared('prefix-lm', 'decoder').filter((o) => o !== 'clm');
  const ratio = parameterRatio(conditions, 'encoder-decoder', 'prefix-lm');
  const doubled = ratio !== null && ratio >= 1.5;
  const ratioText = ratio === null ? 'unknown (one side missing)' : `${ratio.toFixed(2)}×`;
  const findings: Finding[] = [
    {
      id: 'ul2-t5-over-gpt',
      source: 'Tay et al. 2022 (UL2), §4, Tables 3-4: the T5 baseline (encoder-decoder, span corruption) is better than the GPT-like baseline (decoder, causal LM)',
      claim: 'an encoder-decoder trained by span corruption beats a causal decoder trained by causal language modelling',
      test: 'encoder-decoder + span-corruption against decoder + clm',
      verdicts: metrics.map((m) => judge(m, [{ a: side('encoder-decoder', 'span-corruption'), b: side('decoder', 'clm'), expectation: 'better' }])),
    },
    {
      id: 'ul2-at-least-prefix-lm-or-unilm',
      source: 'Tay et al. 2022 (UL2), §4: the causal LM objective is beaten by every other baseline; "always at least Prefix-LM or UniLM"',
      claim: 'a decoder with a bidirectional prefix trained by prefix LM or UniLM beats the causal decoder trained by causal LM',
      test: 'prefix-lm + prefixlm and prefix-lm + unilm, each against decoder + clm',
      verdicts: metrics.map((m) =>
        judge(m, [
          { a: side('prefix-lm', 'prefixlm'), b: side('decoder', 'clm'), expectation: 'better' },
          { a: side('prefix-lm', 'unilm'), b: side('decoder', 'clm'), expectation: 'better' },
        ]),
      ),
    },
    {
      id: 'ul2-encoder-decoder-without-parameter-limit',
      source:
        'Tay et al. 2022 (UL2), §4 and conclusions: at equal compute the encoder-decoder (about twice the parameters) is preferred when parameter count is no concern; under a parameter limit, a prefix-LM decoder',
      claim: doubled
        ? 'with about twice the parameters (compute-matched), the encoder-decoder beats the prefix-LM decoder'
        : 'under a parameter limit (equal parameters), the encoder-decoder has no advantage over the prefix-LM decoder',
      test: `encoder-decoder against prefix-lm on every objective both trained (${edShared.join(', ') || 'none'}); parameter ratio encoder-decoder / prefix-lm ${ratioText}, so the ${doubled ? 'unlimited-parameter' : 'parameter-limited'} reading applies`,
      verdicts: metrics.map((m) => judge(m, edShared.map((o) => ({ a: side('encoder-decoder', o), b: side('prefix-lm', o), expectation: doubled ? ('better' as const) : ('no-advantage' as const) })))),
    },
    {
      id: 'fu-palm-ordering',
      source:
        'Fu et al. (PALM), 2023 ("Decoder-only or encoder-decoder?", arXiv 2304.04052; PALM is their partial attention language model, not Google\'s PaLM): partial attention > encoder-decoder > decoder-only LM, the ordering as the seed question cites it (not checked against the paper; third-party summaries say PALM approaches or matches the encoder-decoder)',
      claim: 'a decoder that reads its source bidirectionally beats the encoder-decoder, which beats the causal decoder, on the same seq2seq objective',
      test: 'on the prefixlm objective: prefix-lm (partial attention: the source read both ways, the nearest unilab model to PALM, without its separate positions and language embeddings) against encoder-decoder, and encoder-decoder against decoder',
      verdicts: metrics.map((m) =>
        judge(m, [
          { a: side('prefix-lm', 'prefixlm'), b: side('encoder-decoder', 'prefixlm'), expectation: 'better' },
          { a: side('encoder-decoder', 'prefixlm'), b: side('decoder', 'prefixlm'), expectation: 'better' },
        ]),
      ),
    },
    {
      id: 'su-unilm-no-advantage',
      source: 'Su 2023 (kexue.fm/archives/9529): GPT against UniLM at equal parameters, loss on the output only: UniLM "has no advantage" over GPT',
      claim: 'the same network reading its input bidirectionally (UniLM) does not beat it reading causally (GPT)',
      test: 'prefix-lm + prefixlm against decoder + prefixlm (one mask apart, same parameters, loss on the targets only): the source is contradicted only if prefix-lm is significantly better',
      verdicts: metrics.map((m) => judge(m, [{ a: side('prefix-lm', 'prefixlm'), b: side('decoder', 'prefixlm'), expectation: 'no-advantage' }])),
    },
    {
      id: 'su-bidirectional-prompt-brings-nothing',
      source: 'Su 2023 (kexue.fm/archives/9529): making the input part\'s attention bidirectional brings no gain',
      claim: 'on no objective does the bidirectional prefix beat the causal reading of the same network',
      test: `prefix-lm against decoder on every objective both trained that has an input to read (${withPrompt.join(', ') || 'none'}; clm has none, so there the two are one model); contradicted where prefix-lm is significantly better`,
      verdicts: metrics.map((m) => judge(m, withPrompt.map((o) => ({ a: side('prefix-lm', o), b: side('decoder', o), expectation: 'no-advantage' as const })))),
    },
    {
      id: 'su-encoder-decoder-edge-is-parameters',
      source: 'Su 2023 (kexue.fm/archives/9529): the encoder-decoder\'s advantage most likely comes only from its doubled parameters',
      claim: doubled
        ? 'with doubled parameters (this sweep), the encoder-decoder has an edge over the prefix-LM decoder'
        : 'at equal parameters (this sweep), the encoder-decoder has no edge over the prefix-LM decoder',
      test: `encoder-decoder against prefix-lm on every objective both trained (${edShared.join(', ') || 'none'}); parameter ratio ${ratioText}`,
      verdicts: metrics.map((m) => judge(m, edShared.map((o) => ({ a: side('encoder-decoder', o), b: side('prefix-lm', o), expectation: doubled ? ('better' as const) : ('no-advantage' as const) })))),
    },
  ];
  return findings;
}

/** Mean parameters of architecture x over mean parameters of y, over their cells; null if either is absent. */
function parameterRatio(conditions: readonly Condition[], x: string, y: string): number | null {
  const mean = (architecture: string) => {
    const cells = conditions.filter((c) => c.architecture === architecture).flatMap((c) => c.cells);
    return cells.length === 0 ? null : cells.reduce((s, c) => s + c.record.parameters, 0) / cells.length;
  };
  const a = mean(x);
  const b = mean(y);
  return a === null || b === null ? null : a / b;
}
