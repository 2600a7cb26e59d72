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
//! Cost: the signature is k hashes per shingle (112 for 14 bands × 8 rows) against
//! n per shingle for the shingles and one pass over the text for the words, so it
//! is the hot loop: four u32x4 vectors of seeds stay in registers with four
//! vectors of running minima while every shingle streams past (the shingle hashes
//! are computed first, four consecutive shingles per vector). One call is one
//! document on the calling thread: the data pipeline streams documents one at a
//! time, and a 300-word document's signature (~30 µs) costs about what waking the
//! pool's workers would.

use crate::pool::need;
use crate::simd::*;

/// Words of the code point bitset (0x110000 code points / 32).
pub const WORD_CHARS_LEN: usize = 0x11_0000 / 32;

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;
const SHINGLE_BASIS: u32 = 0x2545_f491;
const SHINGLE_MUL: u32 = 0x9e37_79b1;

#[inline(always)]
fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[inline(always)]
fn fmix32x4(mut h: v128) -> v128 {
    h = v128_xor(h, u32x4_shr(h, 16));
    h = i32x4_mul(h, u32x4_splat(0x85eb_ca6b));
    h = v128_xor(h, u32x4_shr(h, 13));
    h = i32x4_mul(h, u32x4_splat(0xc2b2_ae35));
    v128_xor(h, u32x4_shr(h, 16))
}

/// Workspace (u32 elements) for a text of `len` code units: a word takes at least
/// one unit and is followed by a non-word unit, so there are at most ⌈len / 2⌉
/// words, and at least one shingle.
#[no_mangle]
pub extern "C" fn minhash_workspace(len: usize) -> usize {
    len / 2 + 1
}

#[no_mangle]
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
#[inline(never)]
unsafe fn word_hashes(text: *const u16, len: usize, word_chars: *const u32, ws: *mut u32) -> usize {
    let mut words = 0;
    let mut h = FNV_OFFSET;
    let mut in_word = false;
    let mut i = 0;
    while i < len {
        let unit = *text.add(i) as u32;
        let mut cp = unit;
        let mut low = 0;
        if unit & 0xfc00 == 0xd800 && i + 1 < len {
            low = *text.add(i + 1) as u32;
            if low & 0xfc00 == 0xdc00 {
                cp = 0x1_0000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
            }
        }
        let pair = cp > 0xffff;
        if (*word_chars.add(cp as usize >> 5) >> (cp & 31)) & 1 != 0 {
            if !in_word {
                h = FNV_OFFSET;
                in_word = true;
            }
            h = (h ^ unit).wrapping_mul(FNV_PRIME);
            if pair {
                h = (h ^ low).wrapping_mul(FNV_PRIME);
            }
        } else if in_word {
            *ws.add(words) = fmix32(h);
            words += 1;
            in_word = false;
        }
        i += 1 + pair as usize;
    }
    if in_word {
        *ws.add(words) = fmix32(h);
        words += 1;
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

/// Pass 3: out[i] = min over shingles of fmix32(shingle ^ seeds[i]), sixteen seeds
/// (four vectors) at a time, then four, then one.
#[inline(never)]
unsafe fn signature(shingles: *const u32, count: usize, seeds: *const u32, k: usize, out: *mut u32) {
    let mut i = 0;
    while i + 16 <= k {
        let seed = [
            v128_load(seeds.add(i) as *const v128),
            v128_load(seeds.add(i + 4) as *const v128),
            v128_load(seeds.add(i + 8) as *const v128),
            v128_load(seeds.add(i + 12) as *const v128),
        ];
        let mut m = [u32x4_splat(u32::MAX); 4];
        for s in 0..count {
            let x = u32x4_splat(*shingles.add(s));
            m[0] = u32x4_min(m[0], fmix32x4(v128_xor(x, seed[0])));
            m[1] = u32x4_min(m[1], fmix32x4(v128_xor(x, seed[1])));
            m[2] = u32x4_min(m[2], fmix32x4(v128_xor(x, seed[2])));
            m[3] = u32x4_min(m[3], fmix32x4(v128_xor(x, seed[3])));
        }
        for (j, v) in m.iter().enumerate() {
            v128_store(out.add(i + 4 * j) as *mut v128, *v);
        }
        i += 16;
    }
    while i + 4 <= k {
        let seed = v128_load(seeds.add(i) as *const v128);
        let mut m = u32x4_splat(u32::MAX);
        for s in 0..count {
            m = u32x4_min(m, fmix32x4(v128_xor(u32x4_splat(*shingles.add(s)), seed)));
        }
        v128_store(out.add(i) as *mut v128, m);
        i += 4;
    }
    while i < k {
        let seed = *seeds.add(i);
        let mut m = u32::MAX;
        for s in 0..count {
            let h = fmix32(*shingles.add(s) ^ seed);
            if h < m {
                m = h;
            }
        }
        *out.add(i) = m;
        i += 1;
    }
}
