//! SIMD128 building blocks shared by the kernels: the multiply-add that the
//! relaxed build turns into an FMA, horizontal sums, and vector `exp`, `tanh`
//! and `sigmoid` accurate to a few ulp (the reference kernels use f64 `Math`
//! functions; 1e-4 relative agreement leaves plenty of room).
//!
//! Everything here is `#[inline(always)]` so each kernel gets straight-line
//! code; nothing allocates or touches memory other than through its arguments.

pub use core::arch::wasm32::*;

/// `a * b + c`. With the `relaxed` feature this is `f32x4.relaxed_madd`, which
/// V8 compiles to `vfmadd` on CPUs with FMA (one rounding instead of two: results
/// differ from the plain build in the last bit, never between thread counts).
#[inline(always)]
pub fn fma(a: v128, b: v128, c: v128) -> v128 {
    #[cfg(feature = "relaxed")]
    {
        f32x4_relaxed_madd(a, b, c)
    }
    #[cfg(not(feature = "relaxed"))]
    {
        f32x4_add(f32x4_mul(a, b), c)
    }
}

#[inline(always)]
pub fn splat(x: f32) -> v128 {
    f32x4_splat(x)
}

/// Scalar square root (`core` has none; this is one `f32x4.sqrt`).
#[inline(always)]
pub fn sqrt1(x: f32) -> f32 {
    f32x4_extract_lane::<0>(f32x4_sqrt(splat(x)))
}

/// Sum of the four lanes, in the fixed order (0 + 1) + (2 + 3).
#[inline(always)]
pub fn hsum(v: v128) -> f32 {
    (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
        + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
}

/// Largest of the four lanes.
#[inline(always)]
pub fn hmax(v: v128) -> f32 {
    let a = f32x4_extract_lane::<0>(v).max(f32x4_extract_lane::<1>(v));
    let b = f32x4_extract_lane::<2>(v).max(f32x4_extract_lane::<3>(v));
    a.max(b)
}

#[inline(always)]
pub unsafe fn load(p: *const f32) -> v128 {
    v128_load(p as *const v128)
}

#[inline(always)]
pub unsafe fn store(p: *mut f32, v: v128) {
    v128_store(p as *mut v128, v)
}

// exp(x) = 2^n · e^r with n = round(x / ln 2), r = x - n ln 2 split in two parts
// (Cody & Waite) so r is exact, and e^r from Cephes' `expf` polynomial (|r| <= ln2/2,
// relative error ~1e-7). n comes from the "magic number" rounding: adding 1.5·2^23 + 127
// to x/ln2 leaves n + 127 in the low mantissa bits, so shifting those bits into the
// exponent field gives 2^n without a float-to-int conversion. Below -87.3 the result
// flushes to 0 (also for -inf, which masked attention scores use); above 88 it
// saturates at e^88.
const LOG2E: f32 = core::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
const EXP_HI: f32 = 88.0;
const EXP_LO: f32 = -87.3;
const MAGIC: f32 = 12_583_039.0; // 1.5 · 2^23 + 127
const P0: f32 = 1.987_569_1e-4;
const P1: f32 = 1.398_199_9e-3;
const P2: f32 = 8.333_452e-3;
const P3: f32 = 4.166_579_6e-2;
const P4: f32 = 1.666_666_5e-1;
const P5: f32 = 5.000_000_1e-1;

/// Lane-wise e^x.
#[inline(always)]
pub fn exp4(x: v128) -> v128 {
    let tiny = f32x4_lt(x, splat(EXP_LO));
    let x = f32x4_pmax(f32x4_pmin(x, splat(EXP_HI)), splat(EXP_LO));
    // t = 1.5·2^23 + 127 + n exactly (round to nearest even), so n = t - magic.
    let t = f32x4_add(f32x4_mul(x, splat(LOG2E)), splat(MAGIC));
    let n = f32x4_sub(t, splat(MAGIC));
    let r = fma(n, splat(-LN2_HI), x);
    let r = fma(n, splat(-LN2_LO), r);
    let mut p = splat(P0);
    p = fma(p, r, splat(P1));
    p = fma(p, r, splat(P2));
    p = fma(p, r, splat(P3));
    p = fma(p, r, splat(P4));
    p = fma(p, r, splat(P5));
    let y = f32x4_add(fma(p, f32x4_mul(r, r), r), splat(1.0));
    // The low bits of t are n + 127: shifted into the exponent field they are 2^n.
    let scale = i32x4_shl(t, 23);
    v128_andnot(f32x4_mul(y, scale), tiny)
}

/// Scalar e^x with the same polynomial (used where a loop tail is a single lane).
#[inline(always)]
pub fn exp1(x: f32) -> f32 {
    f32x4_extract_lane::<0>(exp4(splat(x)))
}

/// Lane-wise logistic sigmoid 1 / (1 + e^-x).
#[inline(always)]
pub fn sigmoid4(x: v128) -> v128 {
    let one = splat(1.0);
    f32x4_div(one, f32x4_add(one, exp4(f32x4_neg(x))))
}

/// Lane-wise tanh(x) = sign(x) · (1 - 2 / (e^{2|x|} + 1)); for |x| < 0.0625 the odd
/// Taylor series x - x³/3 + 2x⁵/15 - 17x⁷/315 avoids the cancellation near 0.
#[inline(always)]
pub fn tanh4(x: v128) -> v128 {
    let ax = f32x4_abs(x);
    let one = splat(1.0);
    let e = exp4(f32x4_add(ax, ax));
    let big = f32x4_sub(one, f32x4_div(splat(2.0), f32x4_add(e, one)));
    let x2 = f32x4_mul(x, x);
    let mut p = splat(-17.0 / 315.0);
    p = fma(p, x2, splat(2.0 / 15.0));
    p = fma(p, x2, splat(-1.0 / 3.0));
    let small = fma(f32x4_mul(p, x2), ax, ax);
    let r = v128_bitselect(small, big, f32x4_lt(ax, splat(0.0625)));
    // Copy the sign of x onto |tanh|.
    v128_or(r, v128_and(x, u32x4_splat(0x8000_0000)))
}

/// Loads `n < 4` floats into the low lanes (the rest 0): loop tails.
#[inline(always)]
pub unsafe fn load_partial(p: *const f32, n: usize) -> v128 {
    let mut t = [0.0f32; 4];
    for (i, v) in t.iter_mut().enumerate().take(n) {
        *v = *p.add(i);
    }
    load(t.as_ptr())
}

/// Stores the low `n < 4` lanes.
#[inline(always)]
pub unsafe fn store_partial(p: *mut f32, v: v128, n: usize) {
    let mut t = [0.0f32; 4];
    store(t.as_mut_ptr(), v);
    for (i, x) in t.iter().enumerate().take(n) {
        *p.add(i) = *x;
    }
}

/// Σ a[i]·b[i] over `n` floats, four lanes then `hsum` (fixed order).
#[inline(always)]
pub unsafe fn dot(a: *const f32, b: *const f32, n: usize) -> f32 {
    let mut acc = splat(0.0);
    let mut i = 0;
    while i + 4 <= n {
        acc = fma(load(a.add(i)), load(b.add(i)), acc);
        i += 4;
    }
    if i < n {
        acc = fma(load_partial(a.add(i), n - i), load_partial(b.add(i), n - i), acc);
    }
    hsum(acc)
}
