import { fmix32, hashString32, key53 } from './hash32.ts';

/**
 * MinHash (Broder 1997, "On the resemblance and containment of documents"): for k hash functions h_i, a set's
 * signature is min_{x in S} h_i(x); two sets agree at position i with probability equal to their Jaccard similarity.
 *
 * This file is the TypeScript reference: kernels-rs/src/minhash.rs computes the same words, shingle hashes and
 * signatures bit for bit (through libs/core's wasm MinHash signer, see minhash-signers.ts); the band keys stay here.
 */

/** One code point of a word: a letter, digit or combining mark of any script. */
export const WORD_CHARACTER = /[\p{L}\p{N}\p{M}]/u;
const WORDS = new RegExp(`${WORD_CHARACTER.source}+`, 'gu');

/** Lower-case word view used for shingling: punctuation and case never make two copies of a page look different. */
export function normalizedWords(text: string): string[] {
  return text.toLowerCase().match(WORDS) ?? [];
}

/**
 * 32-bit hashes of the word n-gram shingles of a text (FineWeb and Gopher use word 5-grams). A text shorter than n
 * words is one shingle of all its words.
 */
export function shingleHashes(text: string, n: number): Uint32Array {
  const ws = normalizedWords(text);
  const wordHash = Uint32Array.from(ws, (w) => hashString32(w));
  const count = Math.max(1, ws.length - n + 1);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    let h = 0x2545f491 ^ n;
    for (let k = i; k < Math.min(i + n, ws.length); k++) h = fmix32(Math.imul(h, 0x9e3779b1) ^ wordHash[k]);
    out[i] = h;
  }
  return out;
}

/** k seeds derived from one seed, so a signature is a pure function of (shingles, seed, k). */
export function minhashSeeds(k: number, seed: number): Uint32Array {
  return Uint32Array.from({ length: k }, (_, i) => fmix32(Math.imul(i + 1, 0x9e3779b9) ^ seed));
}

/** signature[i] = min over shingles x of fmix32(x ^ seeds[i]). */
export function minhashSignature(shingles: Uint32Array, seeds: Uint32Array, out: Uint32Array = new Uint32Array(seeds.length)): Uint32Array {
  out.fill(0xffffffff);
  for (let s = 0; s < shingles.length; s++) {
    const x = shingles[s];
    for (let i = 0; i < seeds.length; i++) {
      const h = fmix32(x ^ seeds[i]);
      if (h < out[i]) out[i] = h;
    }
  }
  return out;
}

/**
 * Locality-sensitive banding (Leskovec, Rajaraman & Ullman, "Mining of Massive Datasets", §3.4): the signature is cut
 * into `bands` bands of `rows` values; two documents are candidates when any band is equal, which happens with
 * probability 1 - (1 - J^rows)^bands. Each band becomes one 53-bit key.
 */
export function bandKeys(signature: Uint32Array, bands: number, rows: number): Float64Array {
  const keys = new Float64Array(bands);
  for (let b = 0; b < bands; b++) {
    let h1 = 0x3c6ef372 ^ b;
    let h2 = 0xa54ff53a ^ b;
    for (let r = 0; r < rows; r++) {
      const v = signature[b * rows + r];
      h1 = fmix32(Math.imul(h1, 0x01000193) ^ v);
      h2 = fmix32(Math.imul(h2 ^ 0x5bd1e995, 0x27d4eb2d) ^ v);
    }
    keys[b] = key53(h1, h2);
  }
  return keys;
}

/** Probability that two documents of Jaccard similarity j share at least one band. */
export function candidateProbability(j: number, bands: number, rows: number): number {
  return 1 - Math.pow(1 - Math.pow(j, rows), bands);
}
