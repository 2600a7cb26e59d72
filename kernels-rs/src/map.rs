//! Elementwise kernels cut into blocks of elements for the thread pool.
//!
//! ```text
//!   MapArgs: kernel, p[0..5] (f32 arrays of n elements), n, chunk, f[0..8] (scalars)
//!   unit u runs `kernel` on elements [u·chunk, min(n, (u+1)·chunk)) of every array:
//!     MAP_ADD          p0 + p1 -> p2                          (elementwise.rs)
//!     MAP_ADD_IN_PLACE p0 += p1
//!     MAP_SCALE        p0 · f0 -> p1
//!     MAP_FILL_ZERO    p0 = 0
//!     MAP_SWIGLU       (p0 gate, p1 up) -> p2                 (swiglu.rs)
//!     MAP_SWIGLU_BACK  (p0 dy, p1 gate, p2 up) -> p3 dgate, p4 dup
//!     MAP_GELU         p0 -> p1                               (gelu.rs)
//!     MAP_GELU_BACK    (p0 dy, p1 x) -> p2
//!     MAP_RELU_BACK    (p0 dy, p1 x) -> p2 (forward: dy = x)  (relu.rs)
//!     MAP_ADAMW        p0 param, p1 grad, p2 m, p3 v; f0..f6 = lr, β1, β2, eps, wd, bc1, bc2 (adamw.rs)
//!     MAP_MUL          p0 · p1 -> p2                          (elementwise.rs)
//! ```
//! Every element depends only on its own inputs, so any cut gives the same bits.

use crate::{adamw, elementwise as ew, gelu, relu, swiglu};

pub const MAP_ADD: u32 = 1;
pub const MAP_ADD_IN_PLACE: u32 = 2;
pub const MAP_SCALE: u32 = 3;
pub const MAP_FILL_ZERO: u32 = 4;
pub const MAP_SWIGLU: u32 = 5;
pub const MAP_SWIGLU_BACK: u32 = 6;
pub const MAP_GELU: u32 = 7;
pub const MAP_GELU_BACK: u32 = 8;
pub const MAP_RELU_BACK: u32 = 9;
pub const MAP_ADAMW: u32 = 10;
pub const MAP_MUL: u32 = 11;

#[repr(C)]
pub struct MapArgs {
    kernel: u32,
    p: [usize; 5],
    n: usize,
    chunk: usize,
    f: [f32; 8],
}

#[inline(never)]
pub unsafe fn task_unit(t: &MapArgs, unit: u32) {
    let start = unit as usize * t.chunk;
    let len = if t.n - start < t.chunk { t.n - start } else { t.chunk };
    let q = |i: usize| (t.p[i] as *mut f32).add(start);
    let f = &t.f;
    match t.kernel {
        MAP_ADD => ew::add(q(0), q(1), q(2), len),
        MAP_ADD_IN_PLACE => ew::add_in_place(q(0), q(1), len),
        MAP_SCALE => ew::scale(q(0), q(1), len, f[0]),
        MAP_FILL_ZERO => ew::fill_zero(q(0), len),
        MAP_SWIGLU => swiglu::swiglu_forward(q(0), q(1), q(2), len),
        MAP_SWIGLU_BACK => swiglu::swiglu_backward(q(0), q(1), q(2), q(3), q(4), len),
        MAP_GELU => gelu::gelu_forward(q(0), q(1), len),
        MAP_GELU_BACK => gelu::gelu_backward(q(0), q(1), q(2), len),
        MAP_RELU_BACK => relu::relu_backward(q(0), q(1), q(2), len),
        MAP_MUL => ew::mul(q(0), q(1), q(2), len),
        MAP_ADAMW => adamw::adamw(q(0), q(1), q(2), q(3), len, f[0], f[1], f[2], f[3], f[4], f[5], f[6]),
        _ => core::arch::wasm32::unreachable(),
    }
}
