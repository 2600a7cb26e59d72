//! AdamW (Loshchilov & Hutter 2019): decoupled weight decay, then Adam with bias
//! correction, in place on one parameter tensor and its moments.
//!
//! ```text
//!   p, g, m, v: f32 [n]
//!   m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²
//!   p = p (1 - lr·wd) - lr · (m / bc1) / (sqrt(v / bc2) + eps),   bc_i = 1 - β_i^step
//! ```
//! The caller passes bc1, bc2 (scalars of the step, computed once in f64).

use crate::simd::*;

pub unsafe fn adamw(
    p: *mut f32,
    g: *const f32,
    m: *mut f32,
    v: *mut f32,
    n: usize,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    bc1: f32,
    bc2: f32,
) {
    let (b1, b2) = (splat(beta1), splat(beta2));
    let (c1, c2) = (splat(1.0 - beta1), splat(1.0 - beta2));
    let decay = splat(1.0 - lr * weight_decay);
    let (step, inv_bc2, epsv) = (splat(lr / bc1), splat(1.0 / bc2), splat(eps));
    let update = |pv: v128, gv: v128, mv: v128, vv: v128| {
        let mv = fma(b1, mv, f32x4_mul(c1, gv));
        let vv = fma(b2, vv, f32x4_mul(c2, f32x4_mul(gv, gv)));
        let denom = f32x4_add(f32x4_sqrt(f32x4_mul(vv, inv_bc2)), epsv);
        let pv = f32x4_sub(f32x4_mul(pv, decay), f32x4_div(f32x4_mul(step, mv), denom));
        (pv, mv, vv)
    };
    let mut i = 0;
    while i + 4 <= n {
        let (pv, mv, vv) = update(load(p.add(i)), load(g.add(i)), load(m.add(i)), load(v.add(i)));
        store(p.add(i), pv);
        store(m.add(i), mv);
        store(v.add(i), vv);
        i += 4;
    }
    if i < n {
        let r = n - i;
        let (pv, mv, vv) = update(load_partial(p.add(i), r), load_partial(g.add(i), r), load_partial(m.add(i), r), load_partial(v.add(i), r));
        store_partial(p.add(i), pv, r);
        store_partial(m.add(i), mv, r);
        store_partial(v.add(i), vv, r);
    }
}
