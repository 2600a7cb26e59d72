import { describe, expect, it } from 'vitest';
import type { CellRecord, SweepManifest } from '@unilab/runner';
import {
  analysisFindings,
  compareFigures,
  conditionFigure,
  paradigmFindings,
  relativeChange,
  reportHtml,
  seedMean,
  studyReport,
  welchInterval,
  BITS_PER_BYTE,
  FEW_SHOT,
  type Condition,
  type DegenerationAnalysis,
  type EvalReport,
  type Finding,
  type StudyAnalyses,
  type SweepResults,
} from '../src/index.ts';

/**
 * The findings are generated from the numbers: synthetic sweep results built to agree with a source, to disagree
 * with it, and to show no significant difference must each produce that verdict, by the same code.
 */
function report(bpb: number, halfWidth: number, correct: number[]): EvalReport {
  const estimate = (v: number) => ({ value: v, low: v - halfWidth, high: v + halfWidth, n: 10, level: 0.95 });
  return {
    format: 'unilab-eval/1',
    suite: 'quick',
    checkpoint: 'x',
    model: { architecture: 'x', objective: 'x', seqLen: 128, vocabSize: 258, parameters: 1 },
    likelihood: {
      architecture: 'x',
      objective: 'x',
      vocabSize: 258,
      seqLen: 128,
      bitsPerByte: { format: '', chunkTokens: 64, domains: [{ domain: 'sotu', bitsPerByte: estimate(bpb), natsPerToken: estimate(bpb), uniformBitsPerByte: 8, documents: 10, tokens: 1, bytes: 1, provenance: '' }] },
      modes: { domain: 'sotu', results: [] },
    },
    fewShot: {
      reading: '',
      skippedTasks: [],
      results: [{ task: 't', description: '', shots: 0, n: correct.length, acc: { successes: 0, n: 0, value: 0, ci95: [0, 1] }, accNorm: { successes: 0, n: 0, value: 0, ci95: [0, 1] }, chance: 0.5, truncated: 0, correct, correctNorm: correct }],
    },
    skipped: {},
    seconds: 0,
  } as EvalReport;
}

/** A condition with one cell per seed: bits per byte per seed (interval ±halfWidth), few-shot items per seed. */
function condition(architecture: string, objective: string, bpbPerSeed: number[], options: { halfWidth?: number; correct?: number[]; parameters?: number } = {}): Condition {
  return {
    key: `s|${architecture}|${objective}|base`,
    size: 's',
    architecture,
    objective,
    variant: 'base',
    cells: bpbPerSeed.map((v, seed) => ({
      record: { id: `s-${architecture}-${objective}-s${seed}`, parameters: options.parameters ?? 1000 } as CellRecord,
      evaluation: report(v, options.halfWidth ?? 0.01, options.correct ?? [1, 0, 1, 0]),
      curve: [],
    })),
  };
}

const find = (findings: Finding[], id: string) => findings.find((f) => f.id === id)!;
const verdictOn = (f: Finding, metric: string) => f.verdicts.find((v) => v.metric.key === metric)!.verdict;

describe('statistics over seeds', () => {
  it("Student's t interval of a mean and Welch's interval of a difference", () => {
    const m = seedMean([1, 2, 3]);
    expect(m.mean).toBe(2);
    expect(m.high - m.mean).toBeCloseTo((4.303 * 1) / Math.sqrt(3), 3);
    expect(Number.isNaN(seedMean([5]).low)).toBe(true);
    const w = welchInterval(seedMean([1, 2, 3]), seedMean([11, 12, 13]));
    expect(w.difference).toBe(-10);
    expect(w.df).toBeCloseTo(4, 6);
    expect(w.high).toBeLessThan(0);
  });

  it('relative change is signed so that positive is better, as in UL2 Tables 3-4', () => {
    expect(relativeChange(3, 4, BITS_PER_BYTE)).toBeCloseTo(25, 10);
    expect(relativeChange(0.6, 0.5, FEW_SHOT)).toBeCloseTo(20, 10);
  });
});

describe('findings generated from synthetic sweep results', () => {
  it('UL2 T5 vs GPT: agrees when encoder-decoder + span corruption is significantly better over seeds, disagrees when worse, no significant difference when the seeds overlap', () => {
    const agree = paradigmFindings([condition('decoder', 'clm', [3.5, 3.52, 3.48]), condition('encoder-decoder', 'span-corruption', [3.0, 3.02, 2.98])]);
    expect(verdictOn(find(agree, 'ul2-t5-over-gpt'), 'bpb')).toBe('agrees');
    expect(find(agree, 'ul2-t5-over-gpt').verdicts[0].sentence).toContain('Welch 95% CI of the difference over seeds');
    const disagree = paradigmFindings([condition('decoder', 'clm', [3.0, 3.02, 2.98]), condition('encoder-decoder', 'span-corruption', [3.5, 3.52, 3.48])]);
    expect(verdictOn(find(disagree, 'ul2-t5-over-gpt'), 'bpb')).toBe('disagrees');
    const same = paradigmFindings([condition('decoder', 'clm', [3.0, 3.4, 3.2]), condition('encoder-decoder', 'span-corruption', [3.1, 3.3, 3.25])]);
    const f = find(same, 'ul2-t5-over-gpt');
    expect(verdictOn(f, 'bpb')).toBe('no significant difference');
    expect(f.verdicts[0].sentence).toContain('this run finds no significant difference');
    // Identical few-shot items on both sides: no difference either.
    expect(verdictOn(f, 'fewshot')).toBe('no significant difference');
  });

  it("Su: UniLM has no advantage over GPT agrees on no difference and disagrees when the bidirectional prefix is significantly better", () => {
    const none = paradigmFindings([condition('decoder', 'prefixlm', [3.2, 3.3, 3.1]), condition('prefix-lm', 'prefixlm', [3.25, 3.15, 3.2])]);
    expect(verdictOn(find(none, 'su-unilm-no-advantage'), 'bpb')).toBe('agrees');
    const better = paradigmFindings([condition('decoder', 'prefixlm', [3.5, 3.52, 3.48]), condition('prefix-lm', 'prefixlm', [3.0, 3.02, 2.98])]);
    expect(verdictOn(find(better, 'su-unilm-no-advantage'), 'bpb')).toBe('disagrees');
    expect(verdictOn(find(better, 'su-bidirectional-prompt-brings-nothing'), 'bpb')).toBe('disagrees');
  });

  it("Fu et al.'s PALM ordering: mixed when partial attention beats the encoder-decoder but the encoder-decoder loses to the decoder; one seed decides by intervals and by McNemar", () => {
    const all = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    const none = all.map(() => 0);
    const findings = paradigmFindings([
      condition('prefix-lm', 'prefixlm', [3.0], { correct: all }),
      condition('encoder-decoder', 'prefixlm', [3.5], { correct: none }),
      condition('decoder', 'prefixlm', [3.2], { correct: none }),
    ]);
    const palm = find(findings, 'fu-palm-ordering');
    expect(palm.source).toContain('Fu et al. (PALM)');
    expect(palm.source).toContain("not Google's PaLM");
    expect(verdictOn(palm, 'bpb')).toBe('mixed');
    expect(palm.verdicts[0].sentence).toContain('do not overlap');
    // Few-shot: prefix-lm right on all 20 items, the encoder-decoder on none: McNemar rejects; the encoder-decoder and
    // the decoder answer the same: no difference. One claimed ordering holds, the other is untested by significance.
    expect(verdictOn(palm, 'fewshot')).toBe('partly agrees');
    expect(palm.verdicts[1].sentence).toContain('exact McNemar test on the same 20 items');
  });

  it('claims whose cells are missing are "not tested"; the encoder-decoder reading follows the parameter ratio', () => {
    const findings = paradigmFindings([condition('decoder', 'clm', [3.0])]);
    expect(verdictOn(find(findings, 'ul2-t5-over-gpt'), 'bpb')).toBe('not tested');
    const equal = paradigmFindings([condition('prefix-lm', 'prefixlm', [3.0, 3.01], { parameters: 1000 }), condition('encoder-decoder', 'prefixlm', [2.5, 2.51], { parameters: 1000 })]);
    expect(find(equal, 'su-encoder-decoder-edge-is-parameters').claim).toContain('at equal parameters');
    expect(verdictOn(find(equal, 'su-encoder-decoder-edge-is-parameters'), 'bpb')).toBe('disagrees');
    const doubled = paradigmFindings([condition('prefix-lm', 'prefixlm', [3.0, 3.01], { parameters: 1000 }), condition('encoder-decoder', 'prefixlm', [2.5, 2.51], { parameters: 2000 })]);
    expect(find(doubled, 'su-encoder-decoder-edge-is-parameters').claim).toContain('with doubled parameters');
    expect(verdictOn(find(doubled, 'su-encoder-decoder-edge-is-parameters'), 'bpb')).toBe('agrees');
  });

  it('figures over one seed keep the cell interval; the comparison names its method', () => {
    const a = conditionFigure(condition('decoder', 'clm', [3.0], { halfWidth: 0.1 }), BITS_PER_BYTE)!;
    const b = conditionFigure(condition('prefix-lm', 'clm', [3.15], { halfWidth: 0.1 }), BITS_PER_BYTE)!;
    expect(a.basis).toBe('within-cell');
    expect(compareFigures(a, b, BITS_PER_BYTE).outcome).toBe('no-difference');
  });
});

describe('analysis findings from synthetic analyses', () => {
  const degeneration = (architecture: string, share: (t: number, prompt: number) => number): DegenerationAnalysis => {
    const steps = 20;
    const prompts = [0, 1, 2, 3, 4].map((p) => ({
      architecture,
      promptTokens: 8,
      continuation: new Array(steps).fill(0),
      layers: [{ layer: 0, sourceMass: null, sourceShare: Array.from({ length: steps }, (_, t) => share(t, p)) }],
    }));
    return { cell: architecture, architecture, objective: 'prefixlm', promptTokens: 8, steps, continuation: 'greedy', prompts, mean: prompts[0].layers };
  };
  const rank = { cell: 'd', architecture: 'decoder', objective: 'clm', length: 16, windows: 1, meanSpectrum: { causal: [], bidirectional: [] } };

  it("Fu et al.'s degeneration agrees when the decoder's source share falls and the encoder-decoder's does not, and disagrees when reversed", () => {
    const falls = (t: number, p: number) => 1 / (1 + 0.2 * t) + 0.001 * p;
    const flat = (_: number, p: number) => 0.5 + 0.001 * p;
    const heads = (causal: number, bidirectional: number) =>
      [0, 1, 2, 3].flatMap((h) => [
        { layer: 0, head: h, window: 0, mask: 'causal' as const, effectiveRank: causal + 0.1 * h, numericalRank: 16 },
        { layer: 0, head: h, window: 0, mask: 'bidirectional' as const, effectiveRank: bidirectional + 0.1 * h, numericalRank: 8 },
      ]);
    const agree: StudyAnalyses = { rank: [{ ...rank, heads: heads(12, 4) }], degeneration: [degeneration('decoder', falls), degeneration('encoder-decoder', flat)] };
    const found = analysisFindings(agree);
    expect(found.find((f) => f.id === 'fu-attention-degeneration')!.verdicts[0].verdict).toBe('agrees');
    expect(found.find((f) => f.id === 'su-causal-attention-full-rank')!.verdicts[0].verdict).toBe('agrees');
    const reversed: StudyAnalyses = { rank: [{ ...rank, heads: heads(4, 12) }], degeneration: [degeneration('decoder', (t, p) => 0.2 + 0.02 * t + 0.001 * p), degeneration('encoder-decoder', falls)] };
    const against = analysisFindings(reversed);
    expect(against.find((f) => f.id === 'fu-attention-degeneration')!.verdicts[0].verdict).toBe('disagrees');
    expect(against.find((f) => f.id === 'su-causal-attention-full-rank')!.verdicts[0].verdict).toBe('disagrees');
  });
});

describe('the report from synthetic results', () => {
  it('an ablation sweep gets the ablation table: each variant against the first, relative change and significance', () => {
    const variant = (name: string, bpb: number[]): Condition => ({ ...condition('decoder', 'clm', bpb), key: `s|decoder|clm|${name}`, variant: name });
    const results: SweepResults = {
      dir: 'runs/x',
      suite: 'quick',
      manifest: { name: 'ablations', experiment: { description: 'synthetic <script>alert(1)</script>' }, scale: 1, createdAt: '2026-12-03T00:00:00.000Z', updatedAt: '2026-12-03T00:30:00.000Z', cells: [], skipped: [] } as unknown as SweepManifest,
      conditions: [variant('llama', [3.0, 3.02, 2.98]), variant('gelu-ffn', [3.3, 3.32, 3.28]), variant('post-norm', [3.0, 3.1, 2.95])],
    };
    const { markdown } = studyReport(results, null);
    const table = markdown.slice(markdown.indexOf('## Ablations'), markdown.indexOf('## Analyses'));
    expect(table).toContain('against the first, `llama`');
    expect(table).toMatch(/\| s decoder clm \| llama \| 3\.000 \[[\d.]+, [\d.]+\] \|/);
    expect(table).toMatch(/\| s decoder clm \| gelu-ffn \| 3\.300 \[[\d.]+, [\d.]+\] \(-10\.0%\*\) \|/);
    expect(table).toMatch(/\| s decoder clm \| post-norm \| 3\.017 \[[\d.]+, [\d.]+\] \(-0\.6%\) \|/);
    expect(markdown).toContain('30.0 min of wall time');
    expect(markdown).toContain('Not run (`unilab report --no-analyses`).');
    // Text from the experiment file reaches the page escaped, never as markup.
    const html = reportHtml(studyReport(results, null));
    expect(html).toContain('synthetic &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
  });
});
