import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDefaultRegistry, inProcessCellRunner, parseExperiment, recordingLossCurves, runSweep } from '@unilab/runner';
import { cellEvalFile, readSweepResults, studyAnalyses, studyReport, sweepCellEvaluator, writeStudyReport } from '../src/index.ts';
import { sotuSubset, tempDir } from './fixtures.ts';

/**
 * The study end to end on real text: a tiny sweep (3 cells, 1 seed, a few steps) evaluated per cell by the quick
 * suite through the sweep's hook, the two analyses, and `unilab report`'s files, checked for their content.
 */
describe('unilab report on a tiny sweep', () => {
  it('trains, evaluates each cell, analyses, and writes Markdown, HTML and SVGs whose tables hold the sweep\'s numbers', async () => {
    const registry = createDefaultRegistry();
    const corpus = await sotuSubset(3);
    const experiment = parseExperiment({
      name: 'tiny-study',
      base: {
        backend: 'wasm',
        data: { corpus, heldOutFraction: 0.1 },
        model: { config: { layers: 1, heads: 2 } },
        train: { steps: 3, batchSize: 2, seqLen: 48, lr: 3e-3, warmupSteps: 1, evalEvery: 0, evalBatches: 1, checkpointEvery: 0 },
      },
      architectures: ['decoder', 'encoder-decoder'],
      objectives: ['clm', 'span-corruption'],
      architectureConfig: { 'encoder-decoder': { layers: null, encoderLayers: 1, decoderLayers: 1 } },
      sizes: [{ name: 'tiny', parameters: 12_000 }],
      seeds: [1],
    });
    const dir = await tempDir('unilab-study-');
    const evaluate = sweepCellEvaluator({ registry, dir, suite: 'quick' });
    const result = await runSweep({ experiment, registry, dir, runner: recordingLossCurves(inProcessCellRunner(registry)), evaluate });
    expect(result.complete).toBe(true);
    const ids = result.manifest.cells.map((c) => c.id);
    expect(ids).toEqual(['tiny-decoder-clm-s1', 'tiny-decoder-span-corruption-s1', 'tiny-encoder-decoder-span-corruption-s1']);
    for (const cell of result.manifest.cells) {
      expect(existsSync(cellEvalFile(dir, cell.id, 'quick'))).toBe(true);
      expect(cell.evaluation!['bpb.mean']).toBeGreaterThan(0);
    }

    const results = await readSweepResults(dir);
    expect(results.suite).toBe('quick');
    expect(results.conditions.map((c) => c.cells[0].curve.length)).toEqual([3, 3, 3]);
    const analyses = await studyAnalyses(results, { registry, rankWindows: 1, rankLength: 16, prompts: 2, promptTokens: 8, steps: 8 });
    expect(analyses.rank.map((r) => r.cell)).toEqual(['tiny-decoder-clm-s1']);
    expect(analyses.degeneration.map((d) => d.cell)).toEqual(['tiny-decoder-clm-s1', 'tiny-encoder-decoder-span-corruption-s1']);
    const report = studyReport(results, analyses, { command: 'unilab sweep tiny.json', generatedAt: '2026-12-03T00:00:00.000Z' });
    const out = join(dir, 'report');
    const files = await writeStudyReport(out, report);
    for (const name of ['report.md', 'report.html', 'loss-curves.svg', 'bits-per-byte.svg', 'few-shot.svg', 'attention-rank.svg', 'attention-degeneration.svg'])
      expect(files).toContain(join(out, name));

    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toContain('- command: `unilab sweep tiny.json`');
    // The cells table: each cell's FLOPs spent as the manifest recorded them.
    for (const cell of result.manifest.cells) expect(md).toContain(`| ${cell.id} | done | ${(cell.parameters / 1e6).toFixed(3)}M |`), expect(md).toContain(cell.flops!.toExponential(3));
    // UL2 Table 3: each baseline is +0.0% against itself; the other rows are the relative change of the figures.
    const table3 = md.slice(md.indexOf('### Relative to decoder + clm'), md.indexOf('### Relative to encoder-decoder'));
    expect(table3).toMatch(/\| decoder \+ clm \| \+0\.0% \|/);
    const bpb = (id: string) => result.manifest.cells.find((c) => c.id === id)!.evaluation!['bpb.mean'];
    const expected = (100 * (bpb('tiny-decoder-clm-s1') - bpb('tiny-encoder-decoder-span-corruption-s1'))) / bpb('tiny-decoder-clm-s1');
    expect(table3).toContain(`| encoder-decoder + span-corruption | ${expected >= 0 ? '+' : ''}${expected.toFixed(1)}%`);
    const table4 = md.slice(md.indexOf('### Relative to encoder-decoder'), md.indexOf('## Analyses'));
    expect(table4).toMatch(/\| encoder-decoder \+ span-corruption \| \+0\.0% \|/);
    // Findings: every claim with its source, the T5-vs-GPT claim tested on both metrics, PALM credited to Fu et al.
    expect(md).toContain('### ul2-t5-over-gpt:');
    expect(md).toContain('Fu et al. (PALM), 2023 ("Decoder-only or encoder-decoder?", arXiv 2304.04052; PALM is their partial attention language model, not Google\'s PaLM)');
    expect(report.findings.find((f) => f.id === 'ul2-t5-over-gpt')!.verdicts.every((v) => v.tested === 1)).toBe(true);
    expect(report.findings.find((f) => f.id === 'fu-attention-degeneration')!.verdicts[0].tested).toBe(2);

    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
    expect((html.match(/<table>/g) ?? []).length).toBeGreaterThanOrEqual(5);
    const svg = await readFile(join(out, 'loss-curves.svg'), 'utf8');
    expect((svg.match(/<polyline/g) ?? []).length).toBe(3);
  });
});
