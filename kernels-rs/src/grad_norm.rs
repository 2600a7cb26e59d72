//! Global gradient-norm clipping (Pascanu et al. 2013).
//!
//! ```text
//!   sum_of_squares(x, n) -> Σ x[i]²        f64 (products of f32 are exact in f64)
//!   then x[i] *= s per tensor, s = min(1, max_norm / (sqrt(Σ over tensors) + 1e-6))
//!   (`elementwise::scale` in place, through map.rs)
//! ```
//! The caller sums `sum_of_squares` over the tensors in order, decides s, and
//! scales each tensor.

use wasm_bindgen::prelude::wasm_bindgen;
use crate::simd::*;

#[wasm_bindgen]
pub unsafe extern "C" fn sum_of_squares(x: *const f32, n: usize) -> f64 {
    // Two f64x2 accumulators take the low and high halves of each f32x4.
    let mut lo = f64x2_splat(0.0);
    let mut hi = f64x2_splat(0.0);
    let mut i = 0;
    while i + 4 <= n {
        let v = load(x.add(i));
        let a = f64x2_promote_low_f32x4(v);
        let b = f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 0, 1>(v, v));
        lo = f64x2_add(lo, f64x2_mul(a, a));
        hi = f64x2_add(hi, f64x2_mul(b, b));
        i += 4;
    }
    let s = f64x2_add(lo, hi);
    let mut total = f64x2_extract_lane::<0>(s) + f64x2_extract_lane::<1>(s);
    while i < n {
        let t = *x.add(i) as f64;
        total += t * t;
        i += 1;
    }
    total
}
