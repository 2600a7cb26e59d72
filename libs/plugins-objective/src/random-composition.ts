import type { Rng } from '@unilab/core';

/**
 * A uniformly random composition of `total` into `parts` positive integers (their order matters), as T5's
 * `_random_segmentation` draws segment lengths: the parts - 1 cut points are a uniform random subset of the
 * total - 1 gaps between units. Floyd's algorithm picks that subset in O(parts) draws.
 */
export function randomComposition(total: number, parts: number, rng: Rng): number[] {
  if (!Number.isInteger(parts) || parts < 1 || parts > total)
    throw new Error(`randomComposition: cannot split ${total} into ${parts} positive parts`);
  const cuts = new Set<number>();
  for (let j = total - parts + 1; j <= total - 1; j++) {
    const candidate = 1 + rng.int(j);
    cuts.add(cuts.has(candidate) ? j : candidate);
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  const lengths: number[] = [];
  let previous = 0;
  for (const cut of sorted) {
    lengths.push(cut - previous);
    previous = cut;
  }
  lengths.push(total - previous);
  return lengths;
}
