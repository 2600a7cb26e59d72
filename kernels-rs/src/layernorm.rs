//! LayerNorm (Ba et al. 2016), forward and backward.
//!
//! ```text
//!   x, y, dy, dx: f32 [rows, d] (row-major); w, b, dw, db: f32 [d]; mean, rstd: f32 [rows]
//!   forward   mean[r] = mean_j x[r,j];  rstd[r] = 1 / sqrt(mean_j (x - mean)² + eps)
//!             y[r,j] = (x[r,j] - mean[r]) · rstd[r] · w[j] + b[j]
//!   backward  xhat = (x - mean) · rstd;  g = dy · w
//!             dx = rstd · (g - mean_j(g) - xhat · mean_j(g · xhat))
//!             dw[j] = Σ_r dy · xhat,  db[j] = Σ_r dy     (rows in order; dw, db overwritten)
//! ```

use wasm_bindgen::prelude::wasm_bindgen;
use crate::simd::*;

#[wasm_bindgen]
pub unsafe extern "C" fn layernorm_forward(
    x: *const f32,
    w: *const f32,
    b: *const f32,
    y: *mut f32,
    mean: *mut f32,
    rstd: *mut f32,
    rows: usize,
    d: usize,
    eps: f32,
) {
    for r in 0..rows {
        let (xr, yr) = (x.add(r * d), y.add(r * d));
        let mut acc = splat(0.0);
        let mut j = 0;
        while j + 4 <= d {
            acc = f32x4_add(acc, load(xr.add(j)));
            j += 4;
        }
        let mut sum = hsum(acc);
        while j < d {
            sum += *xr.add(j);
            j += 1;
        }
        let mu = sum / d as f32;
        let muv = splat(mu);
        // Two-pass variance (no cancellation).
        acc = splat(0.0);
        j = 0;
        while j + 4 <= d {
            let c = f32x4_sub(load(xr.add(j)), muv);
            acc = fma(c, c, acc);
            j += 4;
        }
        let mut var = hsum(acc);
        while j < d {
            let c = *xr.add(j) - mu;
            var += c * c;
            j += 1;
        }
        let s = 1.0 / sqrt1(var / d as f32 + eps);
        *mean.add(r) = mu;
        *rstd.add(r) = s;
        let sv = splat(s);
        j = 0;
        while j + 4 <= d {
            let xhat = f32x4_mul(f32x4_sub(load(xr.add(j)), muv), sv);
            store(yr.add(j), fma(xhat, load(w.add(j)), load(b.add(j))));
            j += 4;
        }
        while j < d {
            *yr.add(j) = (*xr.add(j) - mu) * s * *w.add(j) + *b.add(j);
            j += 1;
        }
    }
}

#[wasm_bindgen]
pub unsafe extern "C" fn layernorm_backward(
    dy: *const f32,
    x: *const f32,
    w: *const f32,
    mean: *const f32,
    rstd: *const f32,
    dx: *mut f32,
    dw: *mut f32,
    db: *mut f32,
    rows: usize,
    d: usize,
) {
    core::ptr::write_bytes(dw, 0, d);
    core::ptr::write_bytes(db, 0, d);
    for r in 0..rows {
        let (xr, dyr, dxr) = (x.add(r * d), dy.add(r * d), dx.add(r * d));
        let (mu, s) = (*mean.add(r), *rstd.add(r));
        let (muv, sv) = (splat(mu), splat(s));
        let mut g_acc = splat(0.0);
        let mut gx_acc = splat(0.0);
        let mut j = 0;
        while j + 4 <= d {
            let xhat = f32x4_mul(f32x4_sub(load(xr.add(j)), muv), sv);
            let dyv = load(dyr.add(j));
            let g = f32x4_mul(dyv, load(w.add(j)));
            g_acc = f32x4_add(g_acc, g);
            gx_acc = fma(g, xhat, gx_acc);
            store(dw.add(j), fma(dyv, xhat, load(dw.add(j))));
            store(db.add(j), f32x4_add(load(db.add(j)), dyv));
            j += 4;
        }
        let (mut g_sum, mut gx_sum) = (hsum(g_acc), hsum(gx_acc));
        while j < d {
            let xhat = (*xr.add(j) - mu) * s;
            let g = *dyr.add(j) * *w.add(j);
            g_sum += g;
            gx_sum += g * xhat;
            *dw.add(j) += *dyr.add(j) * xhat;
            *db.add(j) += *dyr.add(j);
            j += 1;
        }
        let (g_mean, gx_mean) = (g_sum / d as f32, gx_sum / d as f32);
        let (gmv, gxmv) = (splat(g_mean), splat(gx_mean));
        j = 0;
        while j + 4 <= d {
            let xhat = f32x4_mul(f32x4_sub(load(xr.add(j)), muv), sv);
            let g = f32x4_mul(load(dyr.add(j)), load(w.add(j)));
            store(dxr.add(j), f32x4_mul(sv, f32x4_sub(f32x4_sub(g, gmv), f32x4_mul(xhat, gxmv))));
            j += 4;
        }
        while j < d {
            let xhat = (*xr.add(j) - mu) * s;
            *dxr.add(j) = s * (*dyr.add(j) * *w.add(j) - g_mean - xhat * gx_mean);
            j += 1;
        }
    }
}
