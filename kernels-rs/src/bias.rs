//! Bias of a linear layer, forward and backward.
//!
//! ```text
//!   add_bias(x, bias, y, rows, n)   y[r, j] = x[r, j] + bias[j]      x, y: [rows, n]; bias: [n]
//!   sum_rows(dy, out, rows, n)      out[j]  = Σ_r dy[r, j]           the bias gradient, [n]
//! ```
//! `sum_rows` adds the rows in order 0, 1, 2, ... in f32, exactly as the
//! reference does, so both give the same bits.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub unsafe extern "C" fn add_bias(x: *const f32, bias: *const f32, y: *mut f32, rows: usize, n: usize) {
    for r in 0..rows {
        crate::elementwise::add(x.add(r * n), bias, y.add(r * n), n);
    }
}

#[wasm_bindgen]
pub unsafe extern "C" fn sum_rows(dy: *const f32, out: *mut f32, rows: usize, n: usize) {
    core::ptr::write_bytes(out, 0, n);
    for r in 0..rows {
        crate::elementwise::add_in_place(out, dy.add(r * n), n);
    }
}
