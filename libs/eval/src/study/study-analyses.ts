import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { disposeParameters, type Backend, type PluginRegistry } from '@unilab/core';
import {
  attentionSpectra,
  heldOutDegeneration,
  loadModel,
  prepareData,
  sharedBackends,
  singleExampleBatch,
  type AttentionMaskKind,
  type HeldOutDegeneration,
} from '@unilab/runner';
import type { CellResult, Condition, SweepResults } from './sweep-results.ts';

/**
 * The two analyses of the study, run on a few of the sweep's final checkpoints and kept in `<sweep>/analyses/`:
 * attention rank (Su 2023: causal vs bidirectional masks on the same q and k) and attention degeneration (Fu et
 * al. 2023: attention on the prompt as generation proceeds, decoder-only vs encoder-decoder).
 */
export interface RankAnalysis {
  cell: string;
  architecture: string;
  objective: string;
  length: number;
  windows: number;
  /** Per head and mask (over every window): effective and numerical rank. */
  heads: { layer: number; head: number; window: number; mask: AttentionMaskKind; effectiveRank: number; numericalRank: number }[];
  /** Mean of σ_i / σ_1 over heads and windows, per mask: the spectra to plot. */
  meanSpectrum: Record<AttentionMaskKind, number[]>;
}

export interface DegenerationAnalysis extends HeldOutDegeneration {
  cell: string;
}

export interface StudyAnalyses {
  rank: RankAnalysis[];
  degeneration: DegenerationAnalysis[];
}

export const ANALYSES_DIR = 'analyses';

export interface AnalysisOptions {
  registry: PluginRegistry;
  /** Recompute even when `<sweep>/analyses/*.json` exist. */
  refresh?: boolean;
  rankWindows?: number;
  rankLength?: number;
  prompts?: number;
  promptTokens?: number;
  steps?: number;
  onProgress?(line: string): void;
}

/**
 * The cells analysed: the first seed of one condition per architecture. Attention rank on the single-stack models
 * (decoder: clm; prefix-lm: prefixlm, else the first objective), degeneration on decoder, prefix-lm and
 * encoder-decoder, all on prefixlm where trained (one seq2seq objective for all three), else the first.
 */
export function analysedCells(results: SweepResults): { rank: CellResult[]; degeneration: CellResult[] } {
  const pick = (architecture: string, preferred: readonly string[]): CellResult | null => {
    const conditions = results.conditions.filter((c) => c.architecture === architecture && c.cells.some((x) => x.record.checkpoint));
    const chosen: Condition | undefined = preferred.map((o) => conditions.find((c) => c.objective === o)).find((c) => c !== undefined) ?? conditions[0];
    return chosen?.cells.find((x) => x.record.checkpoint) ?? null;
  };
  const present = (x: CellResult | null): x is CellResult => x !== null;
  return {
    rank: [pick('decoder', ['clm']), pick('prefix-lm', ['prefixlm', 'unilm'])].filter(present),
    degeneration: [pick('decoder', ['prefixlm', 'clm']), pick('prefix-lm', ['prefixlm']), pick('encoder-decoder', ['prefixlm', 'span-corruption'])].filter(present),
  };
}

/** Run (or read back) the analyses of a sweep. */
export async function studyAnalyses(results: SweepResults, options: AnalysisOptions): Promise<StudyAnalyses> {
  const dir = join(results.dir, ANALYSES_DIR);
  const cached = options.refresh ? null : await readCached(dir);
  const cells = analysedCells(results);
  const wanted = (have: { cell: string }[], want: CellResult[]) => want.every((c) => have.some((h) => h.cell === c.record.id));
  if (cached && wanted(cached.rank, cells.rank) && wanted(cached.degeneration, cells.degeneration)) return cached;
  const progress = options.onProgress ?? (() => {});
  // One backend per kind and precision (a cell's model is scored in the numerics it was trained in).
  const backendFor = sharedBackends();
  const rank: RankAnalysis[] = [];
  for (const cell of cells.rank) {
    progress(`attention rank: ${cell.record.id}`);
    rank.push(await rankOf(cell, options, await backendFor(cell.record.spec)));
  }
  const degeneration: DegenerationAnalysis[] = [];
  for (const cell of cells.degeneration) {
    progress(`attention degeneration: ${cell.record.id}`);
    const loaded = await loadModel(cell.record.checkpoint!, options.registry, await backendFor(cell.record.spec));
    try {
      degeneration.push({ cell: cell.record.id, ...(await heldOutDegeneration(loaded, { prompts: options.prompts ?? 8, promptTokens: options.promptTokens, steps: options.steps })) });
    } finally {
      disposeParameters(loaded.backend, loaded.model.params);
    }
  }
  const analyses = { rank, degeneration };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'attention-rank.json'), JSON.stringify(rank) + '\n');
  await writeFile(join(dir, 'attention-degeneration.json'), JSON.stringify(degeneration) + '\n');
  return analyses;
}

async function rankOf(cell: CellResult, options: AnalysisOptions, backend: Backend): Promise<RankAnalysis> {
  const loaded = await loadModel(cell.record.checkpoint!, options.registry, backend);
  try {
    const length = Math.min(options.rankLength ?? 64, loaded.seqLen);
    const data = await prepareData(loaded.spec.data.corpus, loaded.spec.data.heldOutFraction, loaded.tokenizer);
    const texts = (data.heldOut.length > 0 ? data.heldOut : data.train).filter((d) => d.length >= length).slice(0, options.rankWindows ?? 4);
    if (texts.length === 0) throw new Error(`attention rank: no held-out document of ${loaded.spec.data.corpus} has ${length} tokens`);
    const heads: RankAnalysis['heads'] = [];
    const sums: Record<AttentionMaskKind, number[]> = { causal: new Array(length).fill(0), bidirectional: new Array(length).fill(0) };
    const counts: Record<AttentionMaskKind, number> = { causal: 0, bidirectional: 0 };
    for (const [window, doc] of texts.entries()) {
      // The middle of each document: the openings of one corpus's documents are often alike.
      const start = Math.floor((doc.length - length) / 2);
      for (const s of await attentionSpectra(loaded.model, loaded.backend, singleExampleBatch(doc.subarray(start, start + length), length))) {
        heads.push({ layer: s.layer, head: s.head, window, mask: s.mask, effectiveRank: s.effectiveRank, numericalRank: s.numericalRank });
        const top = s.singularValues[0] || 1;
        s.singularValues.forEach((v, i) => (sums[s.mask][i] += v / top));
        counts[s.mask]++;
      }
    }
    const meanSpectrum = {
      causal: sums.causal.map((v) => v / Math.max(1, counts.causal)),
      bidirectional: sums.bidirectional.map((v) => v / Math.max(1, counts.bidirectional)),
    };
    return { cell: cell.record.id, architecture: loaded.model.architecture, objective: cell.record.objective, length, windows: texts.length, heads, meanSpectrum };
  } finally {
    disposeParameters(loaded.backend, loaded.model.params);
  }
}

async function readCached(dir: string): Promise<StudyAnalyses | null> {
  try {
    const rank = JSON.parse(await readFile(join(dir, 'attention-rank.json'), 'utf8')) as RankAnalysis[];
    const degeneration = JSON.parse(await readFile(join(dir, 'attention-degeneration.json'), 'utf8')) as DegenerationAnalysis[];
    return { rank, degeneration };
  } catch {
    return null;
  }
}
