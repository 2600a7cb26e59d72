//! GELU, tanh approximation (Hendrycks & Gimpel 2016; GPT-2), forward and backward.
//!
//! ```text
//!   x, y, dy, dx: f32 [n] (elementwise)
//!   forward   y = ½ x (1 + tanh u),  u = c (x + 0.044715 x³),  c = sqrt(2/π)
//!   backward  dx = dy · (½ (1 + tanh u) + ½ x (1 - tanh² u) · c (1 + 3·0.044715 x²))
//! ```

use crate::simd::*;

const C: f32 = 0.797_884_56; // sqrt(2 / π)
const K: f32 = 0.044_715;

#[inline(always)]
fn inner(x: v128) -> v128 {
    // c (x + k x³) = c x (1 + k x²)
    f32x4_mul(f32x4_mul(splat(C), x), fma(splat(K), f32x4_mul(x, x), splat(1.0)))
}

pub unsafe fn gelu_forward(x: *const f32, y: *mut f32, n: usize) {
    let half = splat(0.5);
    let step = |v: v128| f32x4_mul(f32x4_mul(half, v), f32x4_add(splat(1.0), tanh4(inner(v))));
    let mut i = 0;
    while i + 4 <= n {
        store(y.add(i), step(load(x.add(i))));
        i += 4;
    }
    if i < n {
        store_partial(y.add(i), step(load_partial(x.add(i), n - i)), n - i);
    }
}

pub unsafe fn gelu_backward(dy: *const f32, x: *const f32, dx: *mut f32, n: usize) {
    let (half, one) = (splat(0.5), splat(1.0));
    let step = |d: v128, v: v128| {
        let t = tanh4(inner(v));
        let du = f32x4_mul(splat(C), fma(splat(3.0 * K), f32x4_mul(v, v), one));
        let sech2 = f32x4_sub(one, f32x4_mul(t, t));
        let grad = fma(f32x4_mul(f32x4_mul(half, v), sech2), du, f32x4_mul(half, f32x4_add(one, t)));
        f32x4_mul(d, grad)
    };
    let mut i = 0;
    while i + 4 <= n {
        store(dx.add(i), step(load(dy.add(i)), load(x.add(i))));
        i += 4;
    }
    if i < n {
        store_partial(dx.add(i), step(load_partial(dy.add(i), n - i), load_partial(x.add(i), n - i)), n - i);
    }
}
