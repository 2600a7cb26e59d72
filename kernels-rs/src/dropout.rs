//! Inverted dropout (Srivastava et al. 2014) with a stateless mask, forward and
//! backward (the same kernel: the op is linear in x with a mask fixed by seed and salt).
//!
//! ```text
//!   x, y: f32 [n]; seed: i32 [m] (the batch's token ids); salt: u32 naming the call site
//!   key = fmix32(fnv1a(seed) ^ salt)                                   dropout_key
//!   keep element e  iff  fmix32(key ^ fmix32(e)) >= threshold;  y[e] = keep ? x[e] · scale : 0
//!   threshold = ceil(rate · 2^32) (the caller passes 2^32 - 1 and scale 0 when nothing survives),
//!   scale = 1 / (1 - rate)
//! ```
//! fmix32 is MurmurHash3's 32-bit finaliser: 32-bit integer arithmetic only, so the
//! mask is the reference backend's (kernels/dropout.ts) bit for bit.

use wasm_bindgen::prelude::wasm_bindgen;
use crate::simd::*;

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

/// The mask key of (seed, salt): FNV-1a over the seed's words, mixed with the salt.
#[wasm_bindgen]
pub unsafe extern "C" fn dropout_key(seed: *const i32, m: usize, salt: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for i in 0..m {
        h = (h ^ *seed.add(i) as u32).wrapping_mul(0x0100_0193);
    }
    fmix32(h ^ salt)
}

#[wasm_bindgen]
pub unsafe extern "C" fn dropout(x: *const f32, y: *mut f32, n: usize, key: u32, threshold: u32, scale: f32) {
    let (keyv, tv, sv) = (u32x4_splat(key), u32x4_splat(threshold), splat(scale));
    let mut e = 0;
    while e + 4 <= n {
        let idx = u32x4_add(u32x4_splat(e as u32), u32x4(0, 1, 2, 3));
        let keep = u32x4_ge(fmix32x4(v128_xor(keyv, fmix32x4(idx))), tv);
        store(y.add(e), v128_and(f32x4_mul(load(x.add(e)), sv), keep));
        e += 4;
    }
    while e < n {
        let keep = fmix32(key ^ fmix32(e as u32)) >= threshold;
        *y.add(e) = if keep { *x.add(e) * scale } else { 0.0 };
        e += 1;
    }
}
