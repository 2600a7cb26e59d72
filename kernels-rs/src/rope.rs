//! Rotary position embedding (Su et al. 2021), interleaved pairs, 1D and GLM-130B's
//! 2D form (Zeng et al. 2022). Forward and backward are the same kernel: the rotation
//! is orthogonal, so the backward rotates by the negative angle (`inverse`).
//!
//! ```text
//!   x, y: f32 [bt, h, d] (= [B, T, H, D] row-major); pos, block_pos: i32 [bt]
//!   1D (block_pos null): width w = d; pair (2i, 2i+1) at position p rotates by θ = p · base^(-2i/w):
//!     y[2i]   = x[2i] cos θ - x[2i+1] sin θ
//!     y[2i+1] = x[2i] sin θ + x[2i+1] cos θ          (sin θ → -sin θ when inverse)
//!   an odd d leaves the last element unchanged.
//!   2D: w = d/2 (d a multiple of 4); elements [0, w) rotate by pos, [w, 2w) by block_pos,
//!     each half with the same w/2 frequencies base^(-2i/w).
//!
//!   table: f32 [positions, 2·we], we = w rounded down to even; row p holds
//!     [cos θ0, cos θ0, cos θ1, cos θ1, ...] then [-sin θ0, sin θ0, -sin θ1, sin θ1, ...]
//! ```
//! Angles are computed in f64 (like the reference) once per table row; positions
//! outside the table (negative, or past its end) are computed on the fly into `scratch`
//! (2·we f32).

use wasm_bindgen::prelude::wasm_bindgen;
use crate::math::{exp, ln, sin_cos};
use crate::simd::*;

/// Fill rows 0..positions of the table for rotated width `w` and `base`.
#[wasm_bindgen]
pub unsafe extern "C" fn rope_table(table: *mut f32, positions: usize, w: usize, base: f64) {
    let we = w & !1;
    for p in 0..positions {
        table_row(table.add(p * 2 * we), p as f64, w, base);
    }
}

unsafe fn table_row(row: *mut f32, p: f64, w: usize, base: f64) {
    let we = w & !1;
    let log_base = ln(base);
    for i in 0..we / 2 {
        let inv_freq = exp(-((2 * i) as f64) / w as f64 * log_base);
        let (s, c) = sin_cos(p * inv_freq);
        *row.add(2 * i) = c as f32;
        *row.add(2 * i + 1) = c as f32;
        *row.add(we + 2 * i) = -s as f32;
        *row.add(we + 2 * i + 1) = s as f32;
    }
}

/// Rotate `x` into `y` (must not overlap); `block_pos` null for 1D.
#[wasm_bindgen]
pub unsafe extern "C" fn rope(
    x: *const f32,
    pos: *const i32,
    block_pos: *const i32,
    y: *mut f32,
    bt: usize,
    h: usize,
    d: usize,
    table: *const f32,
    table_positions: usize,
    base: f64,
    inverse: u32,
    scratch: *mut f32,
) {
    let two_d = !block_pos.is_null();
    let w = if two_d { d / 2 } else { d };
    let we = w & !1;
    let row_of = |p: i32| {
        if p >= 0 && (p as usize) < table_positions {
            table.add(p as usize * 2 * we)
        } else {
            table_row(scratch, p as f64, w, base);
            scratch as *const f32
        }
    };
    for t in 0..bt {
        let row = row_of(*pos.add(t));
        for hh in 0..h {
            let o = (t * h + hh) * d;
            rotate(x.add(o), y.add(o), row, we, inverse != 0);
        }
        if two_d {
            let row = row_of(*block_pos.add(t));
            for hh in 0..h {
                let o = (t * h + hh) * d + w;
                rotate(x.add(o), y.add(o), row, we, inverse != 0);
            }
        } else if d > we {
            for hh in 0..h {
                let o = (t * h + hh) * d + we;
                *y.add(o) = *x.add(o);
            }
        }
    }
}

/// Rotate the `we` (even) elements at x into y with one table row.
#[inline(always)]
unsafe fn rotate(x: *const f32, y: *mut f32, row: *const f32, we: usize, inverse: bool) {
    let (cos, sin) = (row, row.add(we));
    let mut j = 0;
    while j + 4 <= we {
        let v = load(x.add(j));
        let swapped = i32x4_shuffle::<1, 0, 3, 2>(v, v);
        let c = f32x4_mul(v, load(cos.add(j)));
        let s = f32x4_mul(swapped, load(sin.add(j)));
        store(y.add(j), if inverse { f32x4_sub(c, s) } else { f32x4_add(c, s) });
        j += 4;
    }
    if j < we {
        // One pair left (we ≡ 2 mod 4).
        let (x0, x1) = (*x.add(j), *x.add(j + 1));
        let (c, s) = (*cos.add(j), *sin.add(j + 1));
        let s = if inverse { -s } else { s };
        *y.add(j) = x0 * c - x1 * s;
        *y.add(j + 1) = x0 * s + x1 * c;
    }
}
