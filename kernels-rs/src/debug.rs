//! Debug-mode input check: the first non-finite value (NaN or ±inf).
//!
//! ```text
//!   first_non_finite(x: f32 [n]) -> index of the first NaN/inf, or -1
//! ```

use wasm_bindgen::prelude::wasm_bindgen;
use crate::simd::*;

#[wasm_bindgen]
pub unsafe extern "C" fn first_non_finite(x: *const f32, n: usize) -> i32 {
    // A value is non-finite iff its exponent bits are all ones.
    let exp_mask = u32x4_splat(0x7f80_0000);
    let mut i = 0;
    while i + 4 <= n {
        let e = v128_and(load(x.add(i)), exp_mask);
        if v128_any_true(i32x4_eq(e, exp_mask)) {
            break;
        }
        i += 4;
    }
    while i < n {
        if !(*x.add(i)).is_finite() {
            return i as i32;
        }
        i += 1;
    }
    -1
}
