/**
 * 32-bit hashing on typed-array friendly integer arithmetic (Math.imul), identical on every runtime. fmix32 is
 * MurmurHash3's finaliser (Appleby 2011): full avalanche, so `fmix32(x ^ seed)` gives independent-looking hash
 * functions for MinHash from one family.
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over a string's UTF-16 code units, finalised with fmix32 (plain FNV's low bits are weak). */
export function hashString32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

/**
 * A 53-bit key (exact as a JavaScript number) from two independent 32-bit hashes: collisions stay negligible for
 * hundreds of millions of keys, where one 32-bit hash would collide after ~65,000 (the birthday bound).
 */
export function key53(h1: number, h2: number): number {
  return (h1 >>> 0) * 0x200000 + ((h2 >>> 0) & 0x1fffff);
}

export function hashString53(s: string): number {
  return key53(hashString32(s, 0x9e3779b9), hashString32(s, 0x7f4a7c15));
}
