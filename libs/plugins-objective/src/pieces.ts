import type { DocumentReader } from './document-reader.ts';
import type { ObjectiveCounts } from './packing.ts';

/** A run of pieces too short to use this long means the corpus cannot feed the objective (rather than loop forever). */
const MAX_CONSECUTIVE_SKIPS = 100_000;

/**
 * The rest of the current document if it has at least `minimum` tokens; shorter rests are skipped (consumed and
 * counted under `skippedShortPieces`), the documented rule for documents shorter than an objective needs.
 */
export function restWithAtLeast(reader: DocumentReader, minimum: number, counts: ObjectiveCounts, objective: string): Int32Array {
  for (let skips = 0; skips < MAX_CONSECUTIVE_SKIPS; skips++) {
    const rest = reader.rest();
    if (rest.length >= minimum) return rest;
    reader.consume(rest.length);
    bump(counts, 'skippedShortPieces');
  }
  throw new Error(`${objective}: ${MAX_CONSECUTIVE_SKIPS} document pieces in a row were shorter than ${minimum} tokens`);
}

/** Adds one to a counter. */
export function bump(counts: ObjectiveCounts, name: string): void {
  counts[name] = (counts[name] ?? 0) + 1;
}
