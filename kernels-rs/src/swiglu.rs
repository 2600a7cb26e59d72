//! SwiGLU (Shazeer 2020, as in LLaMA), forward and backward.
//!
//! ```text
//!   gate, up, y, dy, dgate, dup: f32 [n] (any shape, elementwise)
//!   forward   y = silu(gate) · up,  silu(g) = g · σ(g)
//!   backward  dup   = dy · silu(gate)
//!             dgate = dy · up · σ(g) · (1 + g · (1 - σ(g)))
//! ```

use crate::simd::*;

pub unsafe fn swiglu_forward(gate: *const f32, up: *const f32, y: *mut f32, n: usize) {
    let step = |g: v128, u: v128| f32x4_mul(f32x4_mul(g, sigmoid4(g)), u);
    let mut i = 0;
    while i + 4 <= n {
        store(y.add(i), step(load(gate.add(i)), load(up.add(i))));
        i += 4;
    }
    if i < n {
        store_partial(y.add(i), step(load_partial(gate.add(i), n - i), load_partial(up.add(i), n - i)), n - i);
    }
}

pub unsafe fn swiglu_backward(dy: *const f32, gate: *const f32, up: *const f32, dgate: *mut f32, dup: *mut f32, n: usize) {
    let one = splat(1.0);
    let step = |d: v128, g: v128, u: v128| {
        let sig = sigmoid4(g);
        let dup = f32x4_mul(d, f32x4_mul(g, sig));
        let slope = f32x4_mul(sig, fma(g, f32x4_sub(one, sig), one));
        (f32x4_mul(f32x4_mul(d, u), slope), dup)
    };
    let mut i = 0;
    while i + 4 <= n {
        let (dg, du) = step(load(dy.add(i)), load(gate.add(i)), load(up.add(i)));
        store(dgate.add(i), dg);
        store(dup.add(i), du);
        i += 4;
    }
    if i < n {
        let r = n - i;
        let (dg, du) = step(load_partial(dy.add(i), r), load_partial(gate.add(i), r), load_partial(up.add(i), r));
        store_partial(dgate.add(i), dg, r);
        store_partial(dup.add(i), du, r);
    }
}
