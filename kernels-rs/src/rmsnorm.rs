//! RMSNorm (Zhang & Sennrich 2019), forward and backward.
//!
//! ```text
//!   x, y, dy, dx: f32 [rows, d] (row-major); w, dw: f32 [d]; rstd: f32 [rows]
//!   forward   rstd[r] = 1 / sqrt(mean_j x[r,j]² + eps);  y[r,j] = x[r,j] · rstd[r] · w[j]
//!   backward  xhat = x · rstd;  g = dy · w
//!             dx[r,j] = rstd[r] · (g[r,j] - xhat[r,j] · mean_j(g · xhat)[r])
//!             dw[j]   = Σ_r dy[r,j] · xhat[r,j]     (rows in order; dw overwritten)
//! ```

use wasm_bindgen::prelude::wasm_bindgen;
use crate::simd::*;

#[wasm_bindgen]
pub unsafe extern "C" fn rmsnorm_forward(x: *const f32, w: *const f32, y: *mut f32, rstd: *mut f32, rows: usize, d: usize, eps: f32) {
    for r in 0..rows {
        let xr = x.add(r * d);
        let yr = y.add(r * d);
        let s = 1.0 / sqrt1(dot(xr, xr, d) / d as f32 + eps);
        *rstd.add(r) = s;
        let sv = splat(s);
        let mut j = 0;
        while j + 4 <= d {
            store(yr.add(j), f32x4_mul(f32x4_mul(load(xr.add(j)), sv), load(w.add(j))));
            j += 4;
        }
        while j < d {
            *yr.add(j) = *xr.add(j) * s * *w.add(j);
            j += 1;
        }
    }
}

#[wasm_bindgen]
pub unsafe extern "C" fn rmsnorm_backward(
    dy: *const f32,
    x: *const f32,
    w: *const f32,
    rstd: *const f32,
    dx: *mut f32,
    dw: *mut f32,
    rows: usize,
    d: usize,
) {
    core::ptr::write_bytes(dw, 0, d);
    for r in 0..rows {
        let (xr, dyr, dxr) = (x.add(r * d), dy.add(r * d), dx.add(r * d));
        let s = *rstd.add(r);
        let sv = splat(s);
        // mean(g · xhat) and dw in one pass.
        let mut acc = splat(0.0);
        let mut j = 0;
        while j + 4 <= d {
            let xhat = f32x4_mul(load(xr.add(j)), sv);
            let dyv = load(dyr.add(j));
            acc = fma(f32x4_mul(dyv, load(w.add(j))), xhat, acc);
            store(dw.add(j), fma(dyv, xhat, load(dw.add(j))));
            j += 4;
        }
        let mut tail = 0.0;
        while j < d {
            let xhat = *xr.add(j) * s;
            tail += *dyr.add(j) * *w.add(j) * xhat;
            *dw.add(j) += *dyr.add(j) * xhat;
            j += 1;
        }
        let mean = (hsum(acc) + tail) / d as f32;
        let mv = splat(mean);
        j = 0;
        while j + 4 <= d {
            let xhat = f32x4_mul(load(xr.add(j)), sv);
            let g = f32x4_mul(load(dyr.add(j)), load(w.add(j)));
            store(dxr.add(j), f32x4_mul(sv, f32x4_sub(g, f32x4_mul(xhat, mv))));
            j += 4;
        }
        while j < d {
            let xhat = *xr.add(j) * s;
            *dxr.add(j) = s * (*dyr.add(j) * *w.add(j) - xhat * mean);
            j += 1;
        }
    }
}
