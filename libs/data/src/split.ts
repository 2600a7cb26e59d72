import type { TextDocument } from './sources/document.ts';

/**
 * Deterministic train / held-out split by a hash of each document's id, so the split never depends on file order
 * and a document never moves between the two sets when the corpus grows.
 */
export function splitHeldOut(docs: readonly TextDocument[], heldOutFraction: number): { train: TextDocument[]; heldOut: TextDocument[] } {
  const train: TextDocument[] = [];
  const heldOut: TextDocument[] = [];
  for (const d of docs) (fnv1a(d.id) / 4294967296 < heldOutFraction ? heldOut : train).push(d);
  if (heldOutFraction > 0 && heldOut.length === 0 && train.length > 1) heldOut.push(train.pop()!);
  if (train.length === 0) throw new Error(`the corpus has ${docs.length} document(s): too few to hold any out for evaluation`);
  return { train, heldOut };
}

/** FNV-1a 32-bit hash of a string's UTF-16 code units. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
