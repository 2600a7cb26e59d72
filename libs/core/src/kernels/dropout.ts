import type { FloatArray } from './types.ts';

/**
 * Inverted dropout (Srivastava et al. 2014) with a stateless mask, so that a resumed run draws exactly the masks an
 * uninterrupted one would: nothing is carried between calls.
 *   x, y: [N]; seed: any i32 array (the batch's token ids); salt: a u32 naming the call site (model seed, layer, site).
 *   key  = fmix32(fnv1a(seed) ^ salt)
 *   keep element e  iff  fmix32(key ^ fmix32(e)) >= rate * 2^32;  y_e = keep ? x_e / (1 - rate) : 0.
 * The op is linear in x with a mask fixed by (seed, salt), so its backward is the same kernel applied to dy.
 * fmix32 is MurmurHash3's 32-bit finaliser; everything is 32-bit integer arithmetic, so every backend agrees.
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The mask key of a (seed, salt) pair: FNV-1a over the seed's 32-bit words, mixed with the salt. */
export function dropoutKey(seed: Int32Array, salt: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed[i], 0x01000193);
  return fmix32((h ^ salt) >>> 0);
}

export function dropoutForward(x: FloatArray, y: FloatArray, size: number, rate: number, key: number): void {
  const threshold = rate * 4294967296;
  const scale = 1 / (1 - rate);
  for (let e = 0; e < size; e++) y[e] = fmix32(key ^ fmix32(e)) >= threshold ? x[e] * scale : 0;
}
