//! ReLU, forward and backward.
//!
//! ```text
//!   x, y, dy, dx: f32 [n] (elementwise)
//!   forward   y  = x > 0 ? x : 0
//!   backward  dx = x > 0 ? dy : 0
//! ```
//! One kernel: the forward is the backward with dy = x.

use crate::simd::*;

pub unsafe fn relu_backward(dy: *const f32, x: *const f32, dx: *mut f32, n: usize) {
    // Select by x > 0 (false for NaN, like the reference's comparison).
    let step = |d: v128, v: v128| v128_and(d, f32x4_gt(v, splat(0.0)));
    let mut i = 0;
    while i + 4 <= n {
        store(dx.add(i), step(load(dy.add(i)), load(x.add(i))));
        i += 4;
    }
    if i < n {
        store_partial(dx.add(i), step(load_partial(dy.add(i), n - i), load_partial(x.add(i), n - i)), n - i);
    }
}
