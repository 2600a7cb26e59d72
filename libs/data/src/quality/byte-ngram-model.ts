/**
 * A byte-level n-gram language model with Witten-Bell interpolation (Witten & Bell 1991; Chen & Goodman 1998, §2.5):
 *
 *   P(w | h) = (c(h, w) + T(h) · P(w | h')) / (c(h) + T(h)),     P(w | empty history below order 1) = 1/256
 *
 * where h' drops the oldest byte of h, c counts occurrences and T(h) is the number of distinct bytes seen after h.
 * Every byte has non-zero probability, so any text (any language, any bytes) gets a finite perplexity. Histories of
 * up to 4 bytes are packed into exact integer keys (context · 256 + byte < 2^40), so there are no hash collisions.
 */
export interface ByteNgramModel {
  readonly order: number;
  /** Natural-log probability of every byte of the text given the bytes before it. */
  logProb(bytes: Uint8Array): number;
  /** exp(-mean log P) per byte. */
  perplexity(bytes: Uint8Array): number;
}

export const MAX_NGRAM_ORDER = 5;

export function trainByteNgramModel(texts: Iterable<Uint8Array>, order: number): ByteNgramModel {
  if (!Number.isInteger(order) || order < 1 || order > MAX_NGRAM_ORDER) throw new Error(`n-gram order must be 1..${MAX_NGRAM_ORDER}, got ${order}`);
  // joint[k]: count of (k-byte history, byte); history[k]: c(h) and distinct followers T(h), for k = 0 .. order-1.
  const joint = Array.from({ length: order }, () => new Map<number, number>());
  const total = Array.from({ length: order }, () => new Map<number, number>());
  const distinct = Array.from({ length: order }, () => new Map<number, number>());
  const mask = [0, 0xff, 0xffff, 0xffffff, 0xffffffff];
  for (const bytes of texts) {
    let ctx = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      for (let k = 0; k < order && k <= i; k++) {
        const h = k === 0 ? 0 : (ctx & mask[k]) >>> 0;
        const key = h * 256 + b;
        const seen = joint[k].get(key) ?? 0;
        joint[k].set(key, seen + 1);
        total[k].set(h, (total[k].get(h) ?? 0) + 1);
        if (seen === 0) distinct[k].set(h, (distinct[k].get(h) ?? 0) + 1);
      }
      ctx = ((ctx << 8) | b) >>> 0;
    }
  }
  const logProb = (bytes: Uint8Array): number => {
    let sum = 0;
    let ctx = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      let p = 1 / 256;
      for (let k = 0; k < order && k <= i; k++) {
        const h = k === 0 ? 0 : (ctx & mask[k]) >>> 0;
        const c = total[k].get(h);
        if (c === undefined) break;
        const t = distinct[k].get(h)!;
        p = ((joint[k].get(h * 256 + b) ?? 0) + t * p) / (c + t);
      }
      sum += Math.log(p);
      ctx = ((ctx << 8) | b) >>> 0;
    }
    return sum;
  };
  return {
    order,
    logProb,
    perplexity: (bytes) => (bytes.length === 0 ? Infinity : Math.exp(-logProb(bytes) / bytes.length)),
  };
}
