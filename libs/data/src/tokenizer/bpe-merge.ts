/**
 * Apply BPE merges to one pre-token (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with Subword
 * Units"): repeatedly merge the adjacent pair of lowest rank until no pair has a rank. Short pieces use a plain scan;
 * long ones (a 100 KB run without spaces) a heap over a linked list, so the cost stays O(n log n).
 */
export interface MergeTable {
  /** Rank of the pair (left, right), keyed by pairKey. */
  ranks: Map<number, number>;
  /** The token id each merge produces, by rank. */
  mergedIds: ArrayLike<number>;
}

/** Ids fit in 21 bits (vocabularies up to 2M), so a pair packs exactly into one number. */
export function pairKey(left: number, right: number): number {
  return left * 0x200000 + right;
}

const SHORT_PIECE = 48;

export function mergePiece(symbols: number[], table: MergeTable): number[] {
  return symbols.length <= SHORT_PIECE ? mergeShort(symbols, table) : mergeLong(symbols, table);
}

function mergeShort(s: number[], { ranks, mergedIds }: MergeTable): number[] {
  while (s.length > 1) {
    let best = Infinity;
    for (let i = 0; i + 1 < s.length; i++) {
      const r = ranks.get(pairKey(s[i], s[i + 1]));
      if (r !== undefined && r < best) best = r;
    }
    if (best === Infinity) break;
    const id = mergedIds[best];
    const out: number[] = [];
    for (let i = 0; i < s.length; i++) {
      if (i + 1 < s.length && ranks.get(pairKey(s[i], s[i + 1])) === best) {
        out.push(id);
        i++;
      } else out.push(s[i]);
    }
    s = out;
  }
  return s;
}

/** Min-heap of (rank, position) with lazy invalidation; ties go to the leftmost position, as in the short path. */
function mergeLong(symbols: number[], { ranks, mergedIds }: MergeTable): number[] {
  const n = symbols.length;
  const sym = Int32Array.from(symbols);
  const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
  const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
  const alive = new Uint8Array(n).fill(1);
  const heap: [number, number][] = [];
  const less = (a: [number, number], b: [number, number]) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  const push = (e: [number, number]) => {
    heap.push(e);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i], heap[p])) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  };
  const pop = (): [number, number] => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l], heap[m])) m = l;
        if (r < heap.length && less(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  };
  const consider = (i: number) => {
    const j = next[i];
    if (i < 0 || j < 0) return;
    const r = ranks.get(pairKey(sym[i], sym[j]));
    if (r !== undefined) push([r, i]);
  };
  for (let i = 0; i + 1 < n; i++) consider(i);
  while (heap.length > 0) {
    const [rank, i] = pop();
    const j = next[i];
    if (!alive[i] || j < 0 || ranks.get(pairKey(sym[i], sym[j])) !== rank) continue;
    sym[i] = mergedIds[rank];
    alive[j] = 0;
    next[i] = next[j];
    if (next[j] >= 0) prev[next[j]] = i;
    consider(prev[i]);
    consider(i);
  }
  const out: number[] = [];
  for (let i = 0; i >= 0; i = next[i]) out.push(sym[i]);
  return out;
}
