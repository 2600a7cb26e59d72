import type { Example } from './example.ts';
import type { NoiseSpan } from './span-corruption.ts';

/** The special tokens of GLM's blank infilling. */
export interface BlankInfillingTokens {
  /** The token that stands for each blank in Part A: [MASK], [sMASK] or [gMASK]. */
  mask: number;
  /** Start of a span in Part B (its input), [sop]. */
  sop: number;
  /** End of a span in Part B (its last target), [eop]. */
  eop: number;
}

/**
 * GLM's autoregressive blank infilling (Du et al. 2022, §2.1–2.2 and Figure 2), for one piece and its blanks.
 * Part A is the piece with each span replaced by one mask token; Part B is the spans in `order`, each as
 * [sop] + span (input) → span + [eop] (target). Part A is bidirectional, Part B sees Part A and the Part B tokens
 * before it: prefixEnd = |Part A| expresses exactly that.
 * 2D positions: the first is the position in Part A (every token of a span gets the position of its mask), the
 * second the position inside the span (0 in Part A, 1.. in Part B). Figure 2, with x1..x6, spans [x3] and [x5, x6]
 * and Part B order (x5 x6), (x3):
 *   tokens    x1 x2 [M] x4 [M] [S] x5 x6 [S] x3
 *   targets                       x5 x6 [E] x3 [E]
 *   position   0  1  2  3  4   4  4  4   2  2      (the paper counts from 1)
 *   block      0  0  0  0  0   1  2  3   1  2
 */
export function blankInfillingExample(
  piece: ArrayLike<number>,
  spans: readonly NoiseSpan[],
  order: readonly number[],
  tokens: BlankInfillingTokens,
): Example {
  const sorted = spans.map((span, index) => ({ span, index })).sort((a, b) => a.span.start - b.span.start);
  const maskPosition = new Array<number>(spans.length);
  const partA: number[] = [];
  let kept = 0;
  for (const { span, index } of sorted) {
    if (span.start < kept || span.end <= span.start || span.end > piece.length)
      throw new Error(`blank infilling: span [${span.start}, ${span.end}) overlaps or leaves the piece of ${piece.length}`);
    for (let i = kept; i < span.start; i++) partA.push(piece[i]);
    maskPosition[index] = partA.length;
    partA.push(tokens.mask);
    kept = span.end;
  }
  for (let i = kept; i < piece.length; i++) partA.push(piece[i]);

  const example: Example = {
    tokens: [...partA],
    targets: partA.map(() => 0),
    lossMask: partA.map(() => 0),
    positions: partA.map((_, i) => i),
    blockPositions: partA.map(() => 0),
    prefixEnd: partA.length,
  };
  for (const index of order) {
    const { start, end } = spans[index];
    for (let i = 0; i <= end - start; i++) {
      example.tokens.push(i === 0 ? tokens.sop : piece[start + i - 1]);
      example.targets.push(i === end - start ? tokens.eop : piece[start + i]);
      example.lossMask.push(1);
      example.positions.push(maskPosition[index]);
      example.blockPositions!.push(i + 1);
    }
  }
  return example;
}
