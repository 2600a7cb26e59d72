//! Elementwise ops of the residual stream and of gradient bookkeeping.
//!
//! ```text
//!   add(a, b, c, n)            c[i] = a[i] + b[i]      residual add; its backward sends dy to both inputs
//!   add_in_place(dst, src, n)  dst[i] += src[i]        gradient accumulation
//!   mul(a, b, c, n)            c[i] = a[i] · b[i]      gates, xPos-style scales; backward: da = dy·b, db = dy·a
//!   scale(x, y, n, s)          y[i] = x[i] · s         (s = 1 is the residual backward's copy; y may be x)
//!   fill_zero(p, n)            p[i] = 0
//! ```
//! All arrays are f32 of `n` elements; outputs may alias inputs element for element.
//! JavaScript runs them through `map.rs` (blocks of elements on the thread pool).

use crate::simd::*;

/// y[i] = f(a[i], b[i]) over n floats, four lanes at a time.
#[inline(always)]
unsafe fn zip(a: *const f32, b: *const f32, y: *mut f32, n: usize, f: impl Fn(v128, v128) -> v128) {
    let mut i = 0;
    while i + 4 <= n {
        store(y.add(i), f(load(a.add(i)), load(b.add(i))));
        i += 4;
    }
    if i < n {
        store_partial(y.add(i), f(load_partial(a.add(i), n - i), load_partial(b.add(i), n - i)), n - i);
    }
}

pub unsafe fn add(a: *const f32, b: *const f32, c: *mut f32, n: usize) {
    zip(a, b, c, n, |x, y| f32x4_add(x, y));
}

pub unsafe fn add_in_place(dst: *mut f32, src: *const f32, n: usize) {
    zip(dst, src, dst, n, |x, y| f32x4_add(x, y));
}

pub unsafe fn mul(a: *const f32, b: *const f32, c: *mut f32, n: usize) {
    zip(a, b, c, n, |x, y| f32x4_mul(x, y));
}

pub unsafe fn scale(x: *const f32, y: *mut f32, n: usize, s: f32) {
    let sv = splat(s);
    zip(x, x, y, n, |v, _| f32x4_mul(v, sv));
}

pub unsafe fn fill_zero(p: *mut f32, n: usize) {
    core::ptr::write_bytes(p, 0, n);
}
