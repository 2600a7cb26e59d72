import type { PackedSegment } from './segments.ts';

/** Inputs and targets of a packed input → target example, in either form. */
export function pairOf(segment: PackedSegment): { inputs: number[]; targets: number[] } {
  if (segment.encoderTokens.length > 0) return { inputs: segment.encoderTokens, targets: segment.predicted };
  return { inputs: segment.tokens.slice(0, segment.prefixEnd), targets: segment.predicted };
}

const isByte = (id: number) => id < 256;

/**
 * Undoes span corruption: each sentinel of the input (after `prefixLength` mode tokens, before the final eos) is
 * replaced by the span that follows it in the target. Returns the original piece and its noise statistics.
 */
export function undoSpanCorruption(inputs: number[], targets: number[], prefixLength = 0): { piece: number[]; noise: number; spans: number } {
  const spans: number[][] = [];
  for (const id of targets.slice(0, -1)) {
    if (isByte(id)) spans[spans.length - 1].push(id);
    else spans.push([]);
  }
  const piece: number[] = [];
  let k = 0;
  for (const id of inputs.slice(prefixLength, -1)) {
    if (isByte(id)) piece.push(id);
    else piece.push(...spans[k++]);
  }
  if (k !== spans.length) throw new Error(`${k} sentinels in the input, ${spans.length} spans in the target`);
  return { piece, noise: spans.reduce((n, s) => n + s.length, 0), spans: spans.length };
}
