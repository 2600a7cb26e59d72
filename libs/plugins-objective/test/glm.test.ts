import { describe, expect, it } from 'vitest';
import { Rng } from '@unilab/core';
import { blankInfillingExample } from '../src/blank-infilling.ts';
import { glm } from '../src/glm.ts';
import { truncatedPoissonMean } from '../src/glm-span-sampling.ts';
import type { PackingBatcher } from '../src/packing.ts';
import { expectBatchContract } from './helpers/batch-contract.ts';
import { byteContext } from '../src/byte-token-view.ts';
import { arrayStream, sotuDocuments } from './helpers/real-text.ts';
import { expectPiecesFollowStream, expectResumesExactly, segmentsOf, type PackedSegment } from './helpers/segments.ts';

const documents = sotuDocuments(40);

function batcher(config: Record<string, unknown>, seqLen = 512, seed = 1) {
  const context = byteContext(glm.specialTokens, { batchSize: 16, seqLen, form: 'single-stack' });
  return { context, batcher: glm.createBatcher(glm.configSchema.parse(config, 'objective'), context, arrayStream(documents), new Rng(seed)) as PackingBatcher };
}

/** Part A with every blank filled from Part B: the original piece, plus each blank's mask token and length. */
function undoBlankInfilling(segment: PackedSegment): { piece: number[]; blanks: { mask: number; start: number; length: number }[] } {
  const partA = segment.tokens.slice(0, segment.prefixEnd);
  const spanAt = new Map<number, number[]>();
  for (let i = segment.prefixEnd; i < segment.tokens.length; i++) {
    if (segment.blockPositions[i] === 1) spanAt.set(segment.positions[i], []);
    const target = segment.targets[i];
    if (target < 256) spanAt.get(segment.positions[i])!.push(target);
  }
  const piece: number[] = [];
  const blanks: { mask: number; start: number; length: number }[] = [];
  partA.forEach((id, i) => {
    if (segment.positions[i] !== i || segment.blockPositions[i] !== 0) throw new Error('Part A positions must count 0, 1, ...');
    if (id < 256) return void piece.push(id);
    const span = spanAt.get(i);
    if (!span) throw new Error(`no Part B span for the blank at ${i}`);
    blanks.push({ mask: id, start: piece.length, length: span.length });
    piece.push(...span);
  });
  if (blanks.length !== spanAt.size) throw new Error('every Part B span must fill one blank');
  return { piece, blanks };
}

function collect(b: PackingBatcher, pad: number, vocabSize: number, count: number): PackedSegment[] {
  const segments: PackedSegment[] = [];
  while (segments.length < count) {
    const batch = b.next();
    expectBatchContract(batch, pad, vocabSize);
    segments.push(...segmentsOf(batch));
  }
  return segments;
}

describe('glm', () => {
  it("reproduces Figure 2 of the GLM paper: x1..x6 with blanks [x3] and [x5, x6]", () => {
    const [x1, x2, x3, x4, x5, x6, M, S, E] = [1, 2, 3, 4, 5, 6, 100, 101, 102];
    const example = blankInfillingExample([x1, x2, x3, x4, x5, x6], [{ start: 2, end: 3 }, { start: 4, end: 6 }], [1, 0], { mask: M, sop: S, eop: E });
    expect(example.tokens).toEqual([x1, x2, M, x4, M, S, x5, x6, S, x3]);
    expect(example.targets.slice(5)).toEqual([x5, x6, E, x3, E]);
    expect(example.lossMask).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    // The paper numbers positions from 1: Position 1 = 1 2 3 4 5 5 5 5 3 3, Position 2 = 0 0 0 0 0 1 2 3 1 2.
    expect(example.positions.map((p) => p + 1)).toEqual([1, 2, 3, 4, 5, 5, 5, 5, 3, 3]);
    expect(example.blockPositions).toEqual([0, 0, 0, 0, 0, 1, 2, 3, 1, 2]);
    expect(example.prefixEnd).toBe(5);
  });

  it('token-level: over 10,000 examples 15% ± 1% masked, mean span within 5% of Poisson(3) on 1..39, text comes back', () => {
    const { context, batcher: b } = batcher({});
    const segments = collect(b, context.specialTokens.pad, context.vocabSize, 10_000);
    let tokens = 0;
    let masked = 0;
    let spans = 0;
    const pieces = segments.map((segment) => {
      const { piece, blanks } = undoBlankInfilling(segment);
      tokens += piece.length;
      for (const blank of blanks) {
        masked += blank.length;
        spans++;
        if (blank.mask !== context.specialTokens.MASK) throw new Error('token-level blanks use [MASK]');
      }
      return piece;
    });
    expectPiecesFollowStream(pieces, documents, 2);
    // The reference draws lengths from Poisson(3) restricted to 1..39, whose mean is 3.157 (λ / (1 - e^-λ)).
    const expectedSpan = truncatedPoissonMean(3, 39);
    expect(Math.abs(masked / tokens - 0.15)).toBeLessThan(0.01);
    expect(Math.abs(masked / spans / expectedSpan - 1)).toBeLessThan(0.05);
    console.info(`glm token-level: ${segments.length} examples, masked ${(masked / tokens).toFixed(4)}, mean span ${(masked / spans).toFixed(3)} (expected ${expectedSpan.toFixed(3)})`);
  });

  it('glm-10b preset (THUDM/GLM config/ds_block_10B.sh at 97e7ad8): [MASK] 0.5, [sMASK] 0.3, [gMASK] 0.2 within 2% over 10,000 examples; sentence and suffix blanks', () => {
    const { context, batcher: b } = batcher({ preset: 'glm-10b' });
    const { MASK, sMASK, gMASK } = context.specialTokens;
    const segments = collect(b, context.specialTokens.pad, context.vocabSize, 10_000);
    const kinds = new Map<number, number>();
    let suffixRatioSum = 0;
    let expectedSuffixRatioSum = 0;
    const pieces = segments.map((segment) => {
      const { piece, blanks } = undoBlankInfilling(segment);
      const mask = blanks[0].mask;
      kinds.set(mask, (kinds.get(mask) ?? 0) + 1);
      if (blanks.some((blank) => blank.mask !== mask)) throw new Error('one kind of blank per example');
      if (mask === gMASK) {
        if (blanks.length !== 1 || blanks[0].start + blanks[0].length !== piece.length) throw new Error('[gMASK] blanks a suffix');
        suffixRatioSum += blanks[0].length / piece.length;
        const shortest = Math.max(1, Math.floor(0.25 * piece.length));
        expectedSuffixRatioSum += (shortest + piece.length - 1) / 2 / piece.length;
      }
      if (mask === sMASK)
        for (const blank of blanks) {
          const end = piece[blank.start + blank.length - 1];
          const before = piece[blank.start - 1];
          const endsSentence = (id: number) => '.?!;:\n'.includes(String.fromCharCode(id));
          if (!(blank.start + blank.length === piece.length || endsSentence(end))) throw new Error('[sMASK] blanks end a sentence');
          if (!(blank.start === 0 || endsSentence(before))) throw new Error('[sMASK] blanks start a sentence');
        }
      return piece;
    });
    expectPiecesFollowStream(pieces, documents, 2);
    const n = segments.length;
    expect(Math.abs(kinds.get(MASK)! / n - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(kinds.get(sMASK)! / n - 0.3)).toBeLessThan(0.02);
    expect(Math.abs(kinds.get(gMASK)! / n - 0.2)).toBeLessThan(0.02);
    // Suffix lengths are uniform over [⌊n/4⌋, n - 1] for a piece of n: about 62.5% of it on average.
    expect(Math.abs(suffixRatioSum / expectedSuffixRatioSum - 1)).toBeLessThan(0.02);
    console.info(`glm-10b: ${n} examples, [MASK] ${(kinds.get(MASK)! / n).toFixed(3)}, [sMASK] ${(kinds.get(sMASK)! / n).toFixed(3)}, [gMASK] ${(kinds.get(gMASK)! / n).toFixed(3)}, mean suffix ${(suffixRatioSum / kinds.get(gMASK)!).toFixed(3)}`);
  });

  it('short documents get one shortened span instead of crashing or looping', () => {
    const context = byteContext(glm.specialTokens, { batchSize: 2, seqLen: 32, form: 'single-stack' });
    const tiny = [Int32Array.from([72]), Int32Array.from([72, 105]), Int32Array.from([72, 105, 33])];
    const b = glm.createBatcher(glm.configSchema.parse({ poissonLambda: 30, maxSpanLength: 39 }, 'objective'), context, arrayStream(tiny), new Rng(1)) as PackingBatcher;
    for (const segment of segmentsOf(b.next())) {
      const { piece, blanks } = undoBlankInfilling(segment);
      expect(blanks.length).toBe(1);
      expect(blanks[0].length).toBeLessThan(piece.length);
    }
    expect(b.counts().skippedShortPieces).toBeGreaterThan(0);
    expect(b.counts().shortenedSpans).toBeGreaterThan(0);
  });

  it('is deterministic under a seed and resumes exactly from state()', () => {
    expectResumesExactly(() => batcher({ preset: 'glm-10b' }, 256, 4).batcher);
  });
});
