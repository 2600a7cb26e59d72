import { PAD_SEGMENT, type Backend, type Batch, type Model } from '@unilab/core';
import { recordAttention } from './attention-records.ts';
import { effectiveRank, numericalRank, singularValues } from './singular-values.ts';

/**
 * Attention rank (Su 2023, kexue.fm/archives/9529; Dong et al. 2021, arXiv 2103.03404): a bidirectional attention
 * matrix softmax(QKᵀ/√d) over n ≫ d positions is close to low rank, while a causal one is lower-triangular with a
 * positive diagonal, hence always full rank. This measures it on a trained model and real text: for each attention
 * layer and head, the n × n attention matrix of one example under a causal and under a bidirectional mask, built
 * from the queries and keys the model computes (its recorded `attention` ops, attention-records.ts), and its
 * singular values.
 *
 * The queries and keys of layer l come from the model's own forward, under the mask its architecture applies; the
 * two masks are applied to those same q and k, so at each layer the comparison isolates the mask. Self-attention ops
 * only (an encoder-decoder's cross-attention, whose keys are another sequence, is skipped).
 */
export type AttentionMaskKind = 'causal' | 'bidirectional';

export interface HeadSpectrum {
  layer: number;
  head: number;
  mask: AttentionMaskKind;
  /** Singular values of the head's attention matrix, largest first. */
  singularValues: number[];
  /** Singular values above tolerance · σ_max. */
  numericalRank: number;
  /** Roy & Vetterli's entropy effective rank. */
  effectiveRank: number;
}

export interface AttentionRankOptions {
  masks?: readonly AttentionMaskKind[];
  /** Relative tolerance of the numerical rank; default 1e-3. */
  tolerance?: number;
}

/** One example of `tokens` (a window of one document) as a batch of one row: one segment, positions 0..n-1. */
export function singleExampleBatch(tokens: ArrayLike<number>, prefixEnd: number): Batch {
  const n = tokens.length;
  return {
    batchSize: 1,
    seqLen: n,
    tokens: Int32Array.from(tokens),
    targets: new Int32Array(n),
    lossMask: new Float32Array(n),
    segmentIds: new Int32Array(n),
    prefixEnd: new Int32Array(n).fill(prefixEnd),
    positions: Int32Array.from({ length: n }, (_, i) => i),
  };
}

/**
 * Spectra of every self-attention head of `model` on `batch` (row 0, its first segment). The forward runs once and
 * each self-attention site's q and k are read back (attention-records.ts), with the op's additive bias if its
 * encoding has one (ALiBi, T5 buckets). The model must expose its attention sites (Model.attentionSites).
 */
export async function attentionSpectra(model: Model, backend: Backend, batch: Batch, options: AttentionRankOptions = {}): Promise<HeadSpectrum[]> {
  const masks = options.masks ?? ['causal', 'bidirectional'];
  const tolerance = options.tolerance ?? 1e-3;
  let n = 0;
  while (n < batch.seqLen && batch.segmentIds[n] === batch.segmentIds[0] && batch.segmentIds[n] !== PAD_SEGMENT) n++;
  if (n < 2) throw new Error('attention rank: the first example of the batch needs at least 2 tokens');
  const spectra: HeadSpectrum[] = [];
  let layer = 0;
  for (const record of await recordAttention(model, backend, batch, 'attention rank')) {
    if (record.site.attends !== 'self' || record.queries !== batch.seqLen || record.keys !== batch.seqLen) continue;
    for (let h = 0; h < record.heads; h++)
      for (const mask of masks) {
        const values = singularValues(attentionMatrix(n, (i, j) => record.score(h, i, j), mask), n, n);
        spectra.push({ layer, head: h, mask, singularValues: Array.from(values), numericalRank: numericalRank(values, tolerance), effectiveRank: effectiveRank(values) });
      }
    layer++;
  }
  return spectra;
}

/** softmax over the visible keys of each query row: j ≤ i (causal) or every j (bidirectional). */
function attentionMatrix(n: number, score: (i: number, j: number) => number, mask: AttentionMaskKind): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const last = mask === 'causal' ? i : n - 1;
    let max = -Infinity;
    for (let j = 0; j <= last; j++) max = Math.max(max, (a[i * n + j] = score(i, j)));
    let sum = 0;
    for (let j = 0; j <= last; j++) sum += a[i * n + j] = Math.exp(a[i * n + j] - max);
    for (let j = 0; j <= last; j++) a[i * n + j] /= sum;
  }
  return a;
}

/** Mean numerical and effective rank per mask, over every head of every layer (and every example given). */
export function summariseRanks(spectra: readonly HeadSpectrum[]): Record<AttentionMaskKind, { numericalRank: number; effectiveRank: number; heads: number }> {
  const out = {} as Record<AttentionMaskKind, { numericalRank: number; effectiveRank: number; heads: number }>;
  for (const s of spectra) {
    const m = (out[s.mask] ??= { numericalRank: 0, effectiveRank: 0, heads: 0 });
    m.numericalRank += s.numericalRank;
    m.effectiveRank += s.effectiveRank;
    m.heads++;
  }
  for (const m of Object.values(out)) {
    m.numericalRank /= m.heads;
    m.effectiveRank /= m.heads;
  }
  return out;
}
