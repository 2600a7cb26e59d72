import { bytesToByteLevel, preTokenize } from './byte-level.ts';
import { pairKey } from './bpe-merge.ts';
import { BpeTokenizer } from './bpe-tokenizer.ts';

export interface BpeTrainingOptions {
  /** Total vocabulary: 256 bytes + special tokens + merges. */
  vocabSize: number;
  /** Special tokens to reserve ("eos" and "pad" are always added first). */
  specialTokens?: readonly string[];
  /** A pair seen fewer times than this is never merged. */
  minPairCount?: number;
}

/**
 * Counts of the pre-tokens of a corpus: the whole input BPE training needs. Feed it documents one at a time, so
 * the corpus streams past; memory grows with the number of distinct pieces, not with the corpus.
 */
export class PieceCounter {
  readonly counts = new Map<string, number>();
  bytes = 0;

  add(text: string): void {
    for (const piece of preTokenize(text)) this.counts.set(piece, (this.counts.get(piece) ?? 0) + 1);
    this.bytes += text.length;
  }
}

/**
 * Learn byte-level BPE merges (Sennrich et al. 2016; byte-level as GPT-2): start from the 256 bytes of each
 * distinct pre-token, then repeatedly merge the most frequent adjacent pair, weighting each piece by its count.
 * Pair counts are kept incrementally: a merge rescans only the pieces that hold the pair, and a max-heap with lazy
 * deletion finds the next best pair. Ties go to the smaller (left, right) ids, so training is deterministic.
 */
export function trainBpe(counter: PieceCounter, options: BpeTrainingOptions): BpeTokenizer {
  const specials = ['eos', 'pad', ...(options.specialTokens ?? []).filter((s) => s !== 'eos' && s !== 'pad')];
  const uniqueSpecials = [...new Set(specials)];
  const base = 256 + uniqueSpecials.length;
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < base)
    throw new Error(`vocabSize ${options.vocabSize} is too small: the 256 bytes and ${uniqueSpecials.length} special tokens need ${base}`);
  const minCount = options.minPairCount ?? 2;
  const pairs = countPairs(counter);

  // Token bytes by id, to spot a merge that spells an existing token (it then reuses that id).
  const spelled = new Map<string, number>();
  const tokenBytes: Uint8Array[] = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
  tokenBytes.forEach((b, id) => spelled.set(bytesToByteLevel(b), id));
  let nextId = base;
  const merges: [number, number][] = [];

  while (nextId < options.vocabSize && pairs.heap.size > 0) {
    const { count, key } = pairs.heap.pop();
    const current = pairs.pairCount.get(key) ?? 0;
    if (current !== count) {
      if (current > 0) pairs.heap.push(current, key);
      continue;
    }
    if (count < minCount) break;
    const left = Math.floor(key / 0x200000);
    const right = key - left * 0x200000;
    const joined = new Uint8Array(tokenBytes[left].length + tokenBytes[right].length);
    joined.set(tokenBytes[left]);
    joined.set(tokenBytes[right], tokenBytes[left].length);
    const name = bytesToByteLevel(joined);
    let id = spelled.get(name);
    if (id === undefined) {
      id = nextId++;
      spelled.set(name, id);
      tokenBytes[id] = joined;
    }
    merges.push([left, right]);
    applyMerge(pairs, key, left, right, id);
  }
  return new BpeTokenizer({ specials: uniqueSpecials, merges });
}

/**
 * The training state: each distinct pre-token of two or more bytes as its current ids with its count, every adjacent
 * pair's weighted count, the words that hold each pair, and a heap of the counts.
 */
interface PairState {
  words: Int32Array[];
  freq: number[];
  pairCount: Map<number, number>;
  pairWords: Map<number, number[]>;
  heap: PairHeap;
}

function countPairs(counter: PieceCounter): PairState {
  const encoder = new TextEncoder();
  const words: Int32Array[] = [];
  const freq: number[] = [];
  for (const [piece, count] of counter.counts) {
    const bytes = encoder.encode(piece);
    if (bytes.length < 2) continue;
    words.push(Int32Array.from(bytes));
    freq.push(count);
  }
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, number[]>();
  words.forEach((w, wi) => {
    for (let i = 0; i + 1 < w.length; i++) {
      const k = pairKey(w[i], w[i + 1]);
      pairCount.set(k, (pairCount.get(k) ?? 0) + freq[wi]);
      const list = pairWords.get(k);
      if (list === undefined) pairWords.set(k, [wi]);
      else if (list[list.length - 1] !== wi) list.push(wi);
    }
  });
  const heap = new PairHeap();
  for (const [k, c] of pairCount) heap.push(c, k);
  return { words, freq, pairCount, pairWords, heap };
}

/**
 * Merge (left, right) into `id` in every word that holds the pair, and update the pair counts by the difference
 * (only the words holding the pair are rescanned; a grown count is pushed again, a stale heap entry is skipped later).
 */
function applyMerge(state: PairState, key: number, left: number, right: number, id: number): void {
  const { words, freq, pairCount, pairWords, heap } = state;
  const delta = new Map<number, number>();
  const bump = (k: number, d: number) => delta.set(k, (delta.get(k) ?? 0) + d);
  for (const wi of pairWords.get(key) ?? []) {
    const w = words[wi];
    const f = freq[wi];
    let found = false;
    const out: number[] = [];
    for (let i = 0; i < w.length; i++) {
      if (i + 1 < w.length && w[i] === left && w[i + 1] === right) {
        found = true;
        out.push(id);
        i++;
      } else out.push(w[i]);
    }
    if (!found) continue;
    for (let i = 0; i + 1 < w.length; i++) bump(pairKey(w[i], w[i + 1]), -f);
    for (let i = 0; i + 1 < out.length; i++) {
      const k = pairKey(out[i], out[i + 1]);
      bump(k, f);
      if (out[i] === id || out[i + 1] === id) {
        const list = pairWords.get(k);
        if (list === undefined) pairWords.set(k, [wi]);
        else if (list[list.length - 1] !== wi) list.push(wi);
      }
    }
    words[wi] = Int32Array.from(out);
  }
  pairWords.delete(key);
  for (const [k, d] of delta) {
    if (d === 0) continue;
    const c = (pairCount.get(k) ?? 0) + d;
    if (c <= 0) pairCount.delete(k);
    else {
      pairCount.set(k, c);
      if (d > 0) heap.push(c, k);
    }
  }
}

/** Max-heap of (count, pair key); equal counts pop the smaller key first. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private before(i: number, j: number): boolean {
    return this.counts[i] > this.counts[j] || (this.counts[i] === this.counts[j] && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.counts[0], key: this.keys[0] };
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.counts.length && this.before(l, m)) m = l;
        if (r < this.counts.length && this.before(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}
