//! Matmuls with an epilogue: the two fusions of a transformer block that a plain
//! matmul call cannot express.
//!
//! ```text
//!   EPILOGUE_ADD     C = R + op(A)·op(B)                  out-/down-projection with the residual add;
//!                                                         the FFN's dX = dgate·Wgᵀ + dup·Wuᵀ
//!   EPILOGUE_SWIGLU  G = X·Wg, U = X·Wu, Y = silu(G) ⊙ U    gate and up projections with SwiGLU (Shazeer 2020)
//!   R, C: f32 [m, n]; X [m, k]; Wg, Wu [k, n]; G, U, Y: f32 [m, n]; all row-major, leading dimension n.
//! ```
//!
//! Bit-identical to the unfused ops (matmul.rs, then elementwise.rs's add or
//! swiglu.rs's forward): every element of the product is summed exactly as
//! `matmul::gemm` sums it (same packing, same KC slices, same micro-kernel), and
//! the epilogue runs on an MC×NC block of C right after that block's last KC
//! slice, with the same per-element arithmetic as the unfused kernel (an f32 add
//! is commutative, so R + P and P + R are the same bits; SwiGLU is swiglu.rs's
//! own function on the block's rows). What the fusion saves is a pass over C in
//! memory (the block is still in L2 when the epilogue reads it), an allocation,
//! and for SwiGLU one kernel call; the unit grid is matmul.rs's, so results never
//! depend on the number of threads.

use crate::elementwise;
use crate::matmul::{macro_kernel, pack_a_block, pack_b_block, packed_len, round_to_bf16, KC, MC, MR, NC, NR};
use crate::pool::need;
use crate::swiglu;

pub const EPILOGUE_ADD: u32 = 1;
pub const EPILOGUE_SWIGLU: u32 = 2;

/// Arguments of a fused-matmul task (words 4.. of the task): matmul.rs's grid over
/// C, plus the epilogue's operands. ADD: `b` is op(B), `r` the residual, `c` the
/// output. SWIGLU (no transpositions): `b` is Wg, `b2` Wu, `g` and `c` receive
/// X·Wg and X·Wu (kept for the backward), `y` the activation.
#[repr(C)]
pub struct FusedArgs {
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    m: usize,
    k: usize,
    n: usize,
    trans_a: u32,
    trans_b: u32,
    chunk_m: usize,
    chunk_n: usize,
    blocks_n: usize,
    epilogue: u32,
    r: *const f32,
    b2: *const f32,
    g: *mut f32,
    y: *mut f32,
    /// Nonzero: round the product's operands to bf16 (matmul.rs's mixed precision; the
    /// epilogue's add and SwiGLU stay f32).
    bf16: u32,
}

pub unsafe fn task_unit(t: &FusedArgs, unit: u32, ws: *mut f32, ws_len: usize) {
    need(ws_len, MC * KC + KC * NC);
    let (ta, tb) = (t.trans_a != 0, t.trans_b != 0);
    let lda = if ta { t.m } else { t.k };
    let ldb = if tb { t.k } else { t.n };
    let (row0, col0) = ((unit as usize / t.blocks_n) * t.chunk_m, (unit as usize % t.blocks_n) * t.chunk_n);
    let (m, n) = (min(t.chunk_m, t.m - row0), min(t.chunk_n, t.n - col0));
    let a = if ta { t.a.add(row0) } else { t.a.add(row0 * lda) };
    let b_at = |b: *const f32| if tb { b.add(col0 * ldb) } else { b.add(col0) };
    let at = row0 * t.n + col0;
    let (pack_a, pack_b) = (ws, ws.add(MC * KC));
    let ldc = t.n;
    let bf16 = t.bf16 != 0;
    match t.epilogue {
        EPILOGUE_ADD => {
            let (c, r) = (t.c.add(at), t.r.add(at));
            gemm_then(a, lda, b_at(t.b), ldb, c, ldc, m, t.k, n, ta, tb, bf16, pack_a, pack_b, |i, j, rows, cols| {
                for row in i..i + rows {
                    let o = c.add(row * ldc + j);
                    // o = o + r, elementwise.rs's add with the output aliasing its first input.
                    elementwise::add(o, r.add(row * ldc + j), o, cols);
                }
            });
        }
        EPILOGUE_SWIGLU => {
            let (g, u, y) = (t.g.add(at), t.c.add(at), t.y.add(at));
            gemm_then(a, lda, b_at(t.b), ldb, g, ldc, m, t.k, n, ta, tb, bf16, pack_a, pack_b, |_, _, _, _| {});
            gemm_then(a, lda, b_at(t.b2), ldb, u, ldc, m, t.k, n, ta, tb, bf16, pack_a, pack_b, |i, j, rows, cols| {
                for row in i..i + rows {
                    let at = row * ldc + j;
                    swiglu::swiglu_forward(g.add(at), u.add(at), y.add(at), cols);
                }
            });
        }
        _ => core::arch::wasm32::unreachable(),
    }
}

/// `matmul::gemm` (not accumulating) with `then(row0, col0, rows, cols)` called on
/// each MC×NC block of C once its last KC slice is in.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
unsafe fn gemm_then(
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    m: usize,
    k: usize,
    n: usize,
    trans_a: bool,
    trans_b: bool,
    bf16: bool,
    pack_a: *mut f32,
    pack_b: *mut f32,
    then: impl Fn(usize, usize, usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    let mut jc = 0;
    while jc < n {
        let nc = min(NC, n - jc);
        if k == 0 {
            for i in 0..m {
                core::ptr::write_bytes(c.add(i * ldc + jc), 0, nc);
            }
            then(0, jc, m, nc);
        }
        let mut pc = 0;
        while pc < k {
            let kc = min(KC, k - pc);
            let last = pc + kc == k;
            pack_b_block(b, ldb, trans_b, pc, jc, kc, nc, pack_b);
            if bf16 {
                round_to_bf16(pack_b, packed_len(nc, NR, kc));
            }
            let mut ic = 0;
            while ic < m {
                let mc = min(MC, m - ic);
                pack_a_block(a, lda, trans_a, ic, pc, mc, kc, pack_a);
                if bf16 {
                    round_to_bf16(pack_a, packed_len(mc, MR, kc));
                }
                macro_kernel(mc, nc, kc, pack_a, pack_b, c.add(ic * ldc + jc), ldc, pc > 0);
                if last {
                    then(ic, jc, mc, nc);
                }
                ic += MC;
            }
            pc += KC;
        }
        jc += NC;
    }
}

#[inline(always)]
fn min(x: usize, y: usize) -> usize {
    if x < y {
        x
    } else {
        y
    }
}
