//! MinHash signature of one text over its word n-gram shingles (near-duplicate
//! detection: libs/data/src/dedup/minhash.ts is the reference, bit for bit).
//!
//! ```text
//!   text: u16 [len]          the text's UTF-16 code units (already lower-cased by the caller)
//!   word_chars: u32 [34816]  bitset over code points 0..0x110000: bit cp is set when cp belongs to a word
//!   seeds: u32 [k]           one seed per hash function
//!   ws: u32 [ws_len]         workspace, ws_len >= minhash_workspace(len): word hashes, then shingle hashes
//!   out: u32 [k]             the signature
//!
//!   words      maximal runs of code points in word_chars; a surrogate pair is one code point, a lone
//!              surrogate is the code point of its own unit (JavaScript's /u regular expressions read text so)
//!   word hash  w = fmix32(FNV-1a over the word's UTF-16 code units)
//!   shingle s  words s .. s+n-1 (a text of fewer than n words is one shingle of all its words, possibly none):
//!              h = 0x2545f491 ^ n;  for each word w: h = fmix32(h · 0x9e3779b1 ^ w)
//!   signature  out[i] = min over shingles s of fmix32(h_s ^ seeds[i])
//! ```
//!
//! MinHash (Broder 1997, "On the resemblance and containment of documents"): for
//! a random hash function h, P[min h(A) = min h(B)] = |A ∩ B| / |A ∪ B|, the Jaccard
//! similarity of the shingle sets, so the fraction of equal signature positions
//! estimates it. fmix32 (MurmurHash3's finaliser, full avalanche) of x ^ seed_i
//! stands in for the i-th random function. The caller cuts the signature into
//! bands for locality-sensitive hashing (Leskovec, Rajaraman & Ullman, "Mining of
//! Massive Datasets", §3.4: b bands of r rows make two documents candidates with
//! probability 1 - (1 - J^r)^b); the band keys are a few hashes per document and
//! stay in TypeScript.
//!
//! Cost (23.8 MB of bundled text, 14 × 8 = 112 hashes, bench/dedup.ts): the
//! signature is k hashes per shingle, about half the time, at the issue width of
//! the vector units: four u32x4 vectors of (premixed) seeds stay in registers with
//! four vectors of running minima while every shingle streams past. The word pass
//! is one FNV-1a multiply per code unit, branch-free; the shingles take n hashes
//! each, four consecutive shingles per vector. One call is one document on the
//! calling thread: the data pipeline streams documents one at a time, and a
//! 300-word document (~20 µs) costs about what waking the pool's workers would.

use wasm_bindgen::prelude::wasm_bindgen;
use crate::pool::need;
use crate::simd::*;

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;
const SHINGLE_BASIS: u32 = 0x2545_f491;
const SHINGLE_MUL: u32 = 0x9e37_79b1;

/// MurmurHash3's fmix32 is `rest(premix(h))`. The first step, h ^ h >> 16,
/// distributes over xor, so fmix32(x ^ s) = rest(premix(x) ^ premix(s)): the
/// signature premixes every shingle and every seed once instead of every
/// (shingle, seed) pair, two of the ten vector operations per hash.
#[inline(always)]
fn premix(h: u32) -> u32 {
    h ^ (h >> 16)
}

#[inline(always)]
fn rest(mut h: u32) -> u32 {
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[inline(always)]
fn fmix32(h: u32) -> u32 {
    rest(premix(h))
}

#[inline(always)]
fn premix4(h: v128) -> v128 {
    v128_xor(h, u32x4_shr(h, 16))
}

#[inline(always)]
fn rest4(mut h: v128) -> v128 {
    h = i32x4_mul(h, u32x4_splat(0x85eb_ca6b));
    h = v128_xor(h, u32x4_shr(h, 13));
    h = i32x4_mul(h, u32x4_splat(0xc2b2_ae35));
    v128_xor(h, u32x4_shr(h, 16))
}

#[inline(always)]
fn fmix32x4(h: v128) -> v128 {
    rest4(premix4(h))
}

/// Workspace (u32 elements) for a text of `len` code units: a word takes at least
/// one unit and is followed by a non-word unit, so there are at most ⌈len / 2⌉
/// words, and at least one shingle.
#[wasm_bindgen]
pub extern "C" fn minhash_workspace(len: usize) -> usize {
    len / 2 + 1
}

#[wasm_bindgen]
pub unsafe extern "C" fn minhash_signature(
    text: *const u16,
    len: usize,
    word_chars: *const u32,
    n: usize,
    seeds: *const u32,
    k: usize,
    ws: *mut u32,
    ws_len: usize,
    out: *mut u32,
) {
    need(ws_len, minhash_workspace(len));
    if n == 0 {
        core::arch::wasm32::unreachable()
    }
    let words = word_hashes(text, len, word_chars, ws);
    let shingles = shingle_hashes(ws, words, n);
    signature(ws, shingles, seeds, k, out);
}

/// Pass 1: the hash of every word into `ws`; returns the number of words.
///
/// Branch-free over text without surrogates (a branch at each word boundary
/// mispredicts about once a word): the running FNV-1a hash of the current word is
/// stored to ws[words] at every unit, and `words` steps past it when a non-word
/// unit ends the word (stores to the next slot before the next word starts are
/// overwritten by it). A store to ws[words] comes after `words` complete words of
/// at least two units each (a word unit and the unit that ended it), so it stays
/// below minhash_workspace(len). The FNV values are finalised (fmix32) afterwards,
/// four at a time.
#[inline(never)]
unsafe fn word_hashes(text: *const u16, len: usize, word_chars: *const u32, ws: *mut u32) -> usize {
    let mut words = 0;
    let mut h = FNV_OFFSET;
    let mut in_word = 0usize;
    let mut i = 0;
    while i < len {
        let unit = *text.add(i) as u32;
        let start = if in_word != 0 { h } else { FNV_OFFSET };
        let is_word;
        if unit & 0xf800 != 0xd800 {
            is_word = ((*word_chars.add(unit as usize >> 5) >> (unit & 31)) & 1) as usize;
            let next = (start ^ unit).wrapping_mul(FNV_PRIME);
            h = if is_word != 0 { next } else { h };
            i += 1;
        } else {
            // A surrogate: a high one followed by a low one is one code point of two units.
            let low = if i + 1 < len { *text.add(i + 1) as u32 } else { 0 };
            let pair = unit < 0xdc00 && low & 0xfc00 == 0xdc00;
            let cp = if pair { 0x1_0000 + ((unit - 0xd800) << 10) + (low - 0xdc00) } else { unit };
            is_word = ((*word_chars.add(cp as usize >> 5) >> (cp & 31)) & 1) as usize;
            if is_word != 0 {
                h = (start ^ unit).wrapping_mul(FNV_PRIME);
                if pair {
                    h = (h ^ low).wrapping_mul(FNV_PRIME);
                }
            }
            i += 1 + pair as usize;
        }
        *ws.add(words) = h;
        words += in_word & (is_word ^ 1);
        in_word = is_word;
    }
    words += in_word;
    let mut w = 0;
    while w + 4 <= words {
        v128_store(ws.add(w) as *mut v128, fmix32x4(v128_load(ws.add(w) as *const v128)));
        w += 4;
    }
    while w < words {
        *ws.add(w) = fmix32(*ws.add(w));
        w += 1;
    }
    words
}

/// Pass 2: the shingle hashes, in place over the word hashes (shingle s is written
/// to ws[s] once words s.. have been read; later shingles only read later words).
/// Returns the number of shingles, max(1, words - n + 1).
#[inline(never)]
unsafe fn shingle_hashes(ws: *mut u32, words: usize, n: usize) -> usize {
    let basis = SHINGLE_BASIS ^ n as u32;
    if words < n {
        let mut h = basis;
        for w in 0..words {
            h = fmix32(h.wrapping_mul(SHINGLE_MUL) ^ *ws.add(w));
        }
        *ws = h;
        return 1;
    }
    let count = words - n + 1;
    let (basis4, mul4) = (u32x4_splat(basis), u32x4_splat(SHINGLE_MUL));
    let mut s = 0;
    while s + 4 <= count {
        let mut h = basis4;
        for w in 0..n {
            let word = v128_load(ws.add(s + w) as *const v128);
            h = fmix32x4(v128_xor(i32x4_mul(h, mul4), word));
        }
        v128_store(ws.add(s) as *mut v128, h);
        s += 4;
    }
    while s < count {
        let mut h = basis;
        for w in 0..n {
            h = fmix32(h.wrapping_mul(SHINGLE_MUL) ^ *ws.add(s + w));
        }
        *ws.add(s) = h;
        s += 1;
    }
    count
}

/// Pass 3: out[i] = min over shingles of fmix32(shingle ^ seeds[i]) (premixed, see
/// `premix`), sixteen seeds (four vectors) at a time, then four, then one.
#[inline(never)]
unsafe fn signature(shingles: *mut u32, count: usize, seeds: *const u32, k: usize, out: *mut u32) {
    let mut s = 0;
    while s + 4 <= count {
        v128_store(shingles.add(s) as *mut v128, premix4(v128_load(shingles.add(s) as *const v128)));
        s += 4;
    }
    while s < count {
        *shingles.add(s) = premix(*shingles.add(s));
        s += 1;
    }
    let seed4 = |i: usize| premix4(v128_load(seeds.add(i) as *const v128));
    let mut i = 0;
    while i + 16 <= k {
        let seed = [seed4(i), seed4(i + 4), seed4(i + 8), seed4(i + 12)];
        let mut m = [u32x4_splat(u32::MAX); 4];
        for s in 0..count {
            let x = u32x4_splat(*shingles.add(s));
            m[0] = u32x4_min(m[0], rest4(v128_xor(x, seed[0])));
            m[1] = u32x4_min(m[1], rest4(v128_xor(x, seed[1])));
            m[2] = u32x4_min(m[2], rest4(v128_xor(x, seed[2])));
            m[3] = u32x4_min(m[3], rest4(v128_xor(x, seed[3])));
        }
        for (j, v) in m.iter().enumerate() {
            v128_store(out.add(i + 4 * j) as *mut v128, *v);
        }
        i += 16;
    }
    while i + 4 <= k {
        let seed = seed4(i);
        let mut m = u32x4_splat(u32::MAX);
        for s in 0..count {
            m = u32x4_min(m, rest4(v128_xor(u32x4_splat(*shingles.add(s)), seed)));
        }
        v128_store(out.add(i) as *mut v128, m);
        i += 4;
    }
    while i < k {
        let seed = premix(*seeds.add(i));
        let mut m = u32::MAX;
        for s in 0..count {
            let h = rest(*shingles.add(s) ^ seed);
            if h < m {
                m = h;
            }
        }
        *out.add(i) = m;
        i += 1;
    }
}
