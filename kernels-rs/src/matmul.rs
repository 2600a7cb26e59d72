//! Matrix multiply, f32, row-major, with leading dimensions.
//!
//! ```text
//!   C[m,n] = op(A)[m,k] · op(B)[k,n]        (+ C[m,n] if accumulate)
//!
//!   op(A)[i][p] = a[i*lda + p]   (!trans_a, A stored [m,k] when lda = k)
//!               = a[p*lda + i]   ( trans_a, A stored [k,m] when lda = m)
//!   op(B)[p][j] = b[p*ldb + j]   (!trans_b, B stored [k,n] when ldb = n)
//!               = b[j*ldb + p]   ( trans_b, B stored [n,k] when ldb = k)
//!   C[i][j]     = c[i*ldc + j];  C must not overlap A or B.
//! ```
//!
//! Forward and backward of a linear layer `Y = X·W` (X [m,k], W [k,n], Y [m,n]):
//!
//! | product              | op(A), op(B)      |
//! |----------------------|-------------------|
//! | forward  Y  = X·W    | NN                |
//! | backward dX = dY·Wᵀ  | NT (W stored [k,n] read as [n,k]) |
//! | backward dW = Xᵀ·dY  | TN                |
//!
//! The bias of a linear layer and its gradient are in `bias.rs`.
//!
//! Algorithm (GotoBLAS/BLIS):
//!   for each NC-wide column block of op(B):
//!     for each KC-deep slice of k:
//!       pack op(B)[pc.., jc..] into NR-wide strips (k-major, zero-padded)
//!       for each MC-tall row block of op(A):
//!         pack op(A)[ic.., pc..] into MR-tall strips (k-major, zero-padded)
//!         every MR×NR tile: micro-kernel over KC with MR·NR/4 f32x4
//!         accumulators; C = tile (first slice, !accumulate) or C += tile.
//! Packing lets one micro-kernel serve all four transpositions.
//!
//! Mixed precision (`bf16` set, the backend's `precision: "bf16-matmul"`): both
//! packed panels are rounded to bfloat16 (`round_to_bf16`, round to nearest, ties to
//! even) right after packing, and the micro-kernel is the same f32 one. The product
//! of two bf16 values (8-bit significands) is exact in f32 (24 bits), so every
//! term is the exact product of the bf16 operands and the sums are f32: the
//! numerics of a bf16 matmul with f32 accumulation (Kalamkar et al. 2019), C stays
//! f32. The panels stay f32 words: V8 has no `f32x4.relaxed_dot_bf16x8_add_f32`
//! (it rejects opcode 0xfd 0x114), and widening bf16 panels in registers measured
//! ~30% slower than this (bench/bf16-microkernel.ts, docs/PERFORMANCE.md).
//!
//! Threads: the task cuts C into a grid of blocks; every unit runs the whole
//! algorithm on its block with its own packing buffers (the caller keeps blocks
//! at least a few hundred wide, so packing the shared operand again per block
//! costs a few percent). The summation order of an element depends only on k (the
//! KC slices and the micro-kernel's depth loop), so the result is the same bits
//! whatever the grid.

use wasm_bindgen::prelude::wasm_bindgen;
use crate::pool::need;
use crate::simd::*;

/// Rows of the register tile.
pub const MR: usize = 4;
/// Columns of the register tile (two f32x4).
pub const NR: usize = 8;
/// Depth of one packed slice (an A strip MR×KC and a B strip KC×NR stay in L1).
pub const KC: usize = 256;
/// Rows of op(A) packed at once (MC×KC f32 = 128 KiB, L2).
pub const MC: usize = 128;
/// Columns of op(B) packed at once (KC×NC f32 = 512 KiB: with the C block it updates
/// and the A block it stays in a 2 MiB L2; 1024 was ~5% slower for dW = Xᵀ·dY).
pub const NC: usize = 512;

const PACK_A_LEN: usize = MC * KC;
const PACK_B_LEN: usize = KC * NC;

/// Workspace (f32) one thread needs for `gemm`.
#[wasm_bindgen]
pub extern "C" fn matmul_workspace() -> usize {
    PACK_A_LEN + PACK_B_LEN
}

/// Arguments of a matmul task (words 4.. of the task). Units are the blocks of a
/// grid over C: `chunk_m` rows by `chunk_n` columns, `blocks_n` blocks per row of
/// the grid, unit u at grid position (u / blocks_n, u % blocks_n).
#[repr(C)]
pub struct MatmulArgs {
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    m: usize,
    k: usize,
    n: usize,
    trans_a: u32,
    trans_b: u32,
    accumulate: u32,
    chunk_m: usize,
    chunk_n: usize,
    blocks_n: usize,
    /// Nonzero: round both operands to bf16 (mixed precision, see the top).
    bf16: u32,
}

pub unsafe fn task_unit(t: &MatmulArgs, unit: u32, ws: *mut f32, ws_len: usize) {
    need(ws_len, PACK_A_LEN + PACK_B_LEN);
    let (ta, tb) = (t.trans_a != 0, t.trans_b != 0);
    let lda = if ta { t.m } else { t.k };
    let ldb = if tb { t.k } else { t.n };
    let (row0, col0) = ((unit as usize / t.blocks_n) * t.chunk_m, (unit as usize % t.blocks_n) * t.chunk_n);
    let (m, n) = (min(t.chunk_m, t.m - row0), min(t.chunk_n, t.n - col0));
    let a = if ta { t.a.add(row0) } else { t.a.add(row0 * lda) };
    let b = if tb { t.b.add(col0 * ldb) } else { t.b.add(col0) };
    let c = t.c.add(row0 * t.n + col0);
    gemm(a, lda, b, ldb, c, t.n, m, t.k, n, ta, tb, t.accumulate != 0, t.bf16 != 0, ws, ws.add(PACK_A_LEN));
}

/// Kept out of line: V8 allocates registers worse in one huge function, and the
/// micro-kernel loop must keep its eight accumulators in registers.
///
/// The whole algorithm on one block, with explicit packing buffers
/// (`pack_a`: MC·KC f32, `pack_b`: KC·NC f32, 16-byte aligned); `bf16` rounds both
/// packed operands to bf16.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub unsafe fn gemm(
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
    accumulate: bool,
    bf16: bool,
    pack_a: *mut f32,
    pack_b: *mut f32,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                core::ptr::write_bytes(c.add(i * ldc), 0, n);
            }
        }
        return;
    }
    let mut jc = 0;
    while jc < n {
        let nc = min(NC, n - jc);
        let mut pc = 0;
        while pc < k {
            let kc = min(KC, k - pc);
            pack_b_block(b, ldb, trans_b, pc, jc, kc, nc, pack_b);
            if bf16 {
                round_to_bf16(pack_b, packed_len(nc, NR, kc));
            }
            let load_c = accumulate || pc > 0;
            let mut ic = 0;
            while ic < m {
                let mc = min(MC, m - ic);
                pack_a_block(a, lda, trans_a, ic, pc, mc, kc, pack_a);
                if bf16 {
                    round_to_bf16(pack_a, packed_len(mc, MR, kc));
                }
                macro_kernel(mc, nc, kc, pack_a, pack_b, c.add(ic * ldc + jc), ldc, load_c);
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

/// Floats in a packed block of `len` rows or columns cut into strips of `strip`, `kc` deep.
#[inline(always)]
pub(crate) fn packed_len(len: usize, strip: usize, kc: usize) -> usize {
    len.div_ceil(strip) * strip * kc
}

/// Rounds each f32 of `p[0..len]` to the nearest bfloat16 (ties to even), kept as the
/// f32 with the same top 16 bits and a zero bottom half (bf16 is exactly that half:
/// sign, the 8 exponent bits, 7 significand bits). Adding 0x7fff plus the kept
/// half's lowest bit and truncating rounds to nearest-even on the bit pattern,
/// carrying into the exponent where it must (so the largest finite floats round to
/// ±inf, as IEEE rounding to bf16 does); ±0, ±inf and subnormals need nothing else.
/// A NaN could carry into the sign or lose its significand, so it is kept a NaN
/// instead, with its quiet bit set. `p` is 16-byte aligned.
pub(crate) unsafe fn round_to_bf16(p: *mut f32, len: usize) {
    let top = u32x4_splat(0xffff_0000);
    let half = u32x4_splat(0x7fff);
    let one = u32x4_splat(1);
    let quiet = u32x4_splat(0x0040_0000);
    let mut i = 0;
    while i + 4 <= len {
        let x = load(p.add(i));
        let odd = v128_and(u32x4_shr(x, 16), one);
        let rounded = v128_and(i32x4_add(x, i32x4_add(half, odd)), top);
        let nan = v128_and(v128_or(x, quiet), top);
        store(p.add(i), v128_bitselect(nan, rounded, f32x4_ne(x, x)));
        i += 4;
    }
    while i < len {
        *p.add(i) = bf16_round(*p.add(i));
        i += 1;
    }
}

/// `round_to_bf16` of one value.
#[inline(always)]
pub(crate) fn bf16_round(x: f32) -> f32 {
    let bits = x.to_bits();
    if x.is_nan() {
        return f32::from_bits((bits | 0x0040_0000) & 0xffff_0000);
    }
    f32::from_bits(bits.wrapping_add(0x7fff + ((bits >> 16) & 1)) & 0xffff_0000)
}

/// 4×4 transpose of rows r0..r3 (each four f32) into columns.
#[inline(always)]
fn transpose4(r0: v128, r1: v128, r2: v128, r3: v128) -> (v128, v128, v128, v128) {
    let t0 = i32x4_shuffle::<0, 4, 1, 5>(r0, r1);
    let t1 = i32x4_shuffle::<2, 6, 3, 7>(r0, r1);
    let t2 = i32x4_shuffle::<0, 4, 1, 5>(r2, r3);
    let t3 = i32x4_shuffle::<2, 6, 3, 7>(r2, r3);
    (
        i64x2_shuffle::<0, 2>(t0, t2),
        i64x2_shuffle::<1, 3>(t0, t2),
        i64x2_shuffle::<0, 2>(t1, t3),
        i64x2_shuffle::<1, 3>(t1, t3),
    )
}

/// Pack op(A)[ic..ic+mc, pc..pc+kc] as ceil(mc/MR) strips; strip s holds
/// (row r, depth p) at `s*MR*kc + p*MR + r`; rows past mc are 0.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn pack_a_block(a: *const f32, lda: usize, trans_a: bool, ic: usize, pc: usize, mc: usize, kc: usize, dst: *mut f32) {
    let mut s = 0;
    while s * MR < mc {
        let out = dst.add(s * MR * kc);
        let r0 = ic + s * MR;
        let rn = min(MR, mc - s * MR);
        if trans_a {
            // The MR values of one depth are contiguous.
            for p in 0..kc {
                let src = a.add((pc + p) * lda + r0);
                let o = out.add(p * MR);
                if rn == MR {
                    store(o, v128_load(src as *const v128));
                } else {
                    for r in 0..MR {
                        *o.add(r) = if r < rn { *src.add(r) } else { 0.0 };
                    }
                }
            }
        } else if rn == MR {
            // Four rows at a time, transposed in registers four depths at a time.
            let rows = [a.add(r0 * lda + pc), a.add((r0 + 1) * lda + pc), a.add((r0 + 2) * lda + pc), a.add((r0 + 3) * lda + pc)];
            let mut p = 0;
            while p + 4 <= kc {
                let (c0, c1, c2, c3) = transpose4(
                    v128_load(rows[0].add(p) as *const v128),
                    v128_load(rows[1].add(p) as *const v128),
                    v128_load(rows[2].add(p) as *const v128),
                    v128_load(rows[3].add(p) as *const v128),
                );
                let o = out.add(p * MR);
                store(o, c0);
                store(o.add(4), c1);
                store(o.add(8), c2);
                store(o.add(12), c3);
                p += 4;
            }
            while p < kc {
                for r in 0..MR {
                    *out.add(p * MR + r) = *rows[r].add(p);
                }
                p += 1;
            }
        } else {
            for r in 0..MR {
                for p in 0..kc {
                    *out.add(p * MR + r) = if r < rn { *a.add((r0 + r) * lda + pc + p) } else { 0.0 };
                }
            }
        }
        s += 1;
    }
}

/// Pack op(B)[pc..pc+kc, jc..jc+nc] as ceil(nc/NR) strips; strip t holds
/// (depth p, column j) at `t*NR*kc + p*NR + j`; columns past nc are 0.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn pack_b_block(b: *const f32, ldb: usize, trans_b: bool, pc: usize, jc: usize, kc: usize, nc: usize, dst: *mut f32) {
    let mut t = 0;
    while t * NR < nc {
        let out = dst.add(t * NR * kc);
        let c0 = jc + t * NR;
        let cn = min(NR, nc - t * NR);
        if trans_b {
            if cn == NR {
                // Eight stored rows (columns of op(B)), two 4×4 transposes per four depths.
                let mut p = 0;
                while p + 4 <= kc {
                    for half in 0..2 {
                        let base = b.add((c0 + 4 * half) * ldb + pc + p);
                        let (d0, d1, d2, d3) = transpose4(
                            v128_load(base as *const v128),
                            v128_load(base.add(ldb) as *const v128),
                            v128_load(base.add(2 * ldb) as *const v128),
                            v128_load(base.add(3 * ldb) as *const v128),
                        );
                        let o = out.add(p * NR + 4 * half);
                        store(o, d0);
                        store(o.add(NR), d1);
                        store(o.add(2 * NR), d2);
                        store(o.add(3 * NR), d3);
                    }
                    p += 4;
                }
                while p < kc {
                    for j in 0..NR {
                        *out.add(p * NR + j) = *b.add((c0 + j) * ldb + pc + p);
                    }
                    p += 1;
                }
            } else {
                for j in 0..NR {
                    for p in 0..kc {
                        *out.add(p * NR + j) = if j < cn { *b.add((c0 + j) * ldb + pc + p) } else { 0.0 };
                    }
                }
            }
        } else {
            // NR contiguous values per depth.
            for p in 0..kc {
                let src = b.add((pc + p) * ldb + c0);
                let o = out.add(p * NR);
                if cn == NR {
                    store(o, v128_load(src as *const v128));
                    store(o.add(4), v128_load(src.add(4) as *const v128));
                } else {
                    for j in 0..NR {
                        *o.add(j) = if j < cn { *src.add(j) } else { 0.0 };
                    }
                }
            }
        }
        t += 1;
    }
}

/// C[0..mc, 0..nc] (leading dimension ldc) = or += packed A · packed B.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn macro_kernel(mc: usize, nc: usize, kc: usize, pa: *const f32, pb: *const f32, c: *mut f32, ldc: usize, load_c: bool) {
    let mut edge = Tile([0.0; MR * NR]);
    let mut jr = 0;
    while jr < nc {
        let cols = min(NR, nc - jr);
        let bp = pb.add(jr * kc);
        let mut ir = 0;
        while ir < mc {
            let rows = min(MR, mc - ir);
            let ap = pa.add(ir * kc);
            let cp = c.add(ir * ldc + jr);
            if rows == MR && cols == NR {
                micro_kernel(kc, ap, bp, cp, ldc, load_c);
            } else {
                // Edge tile: compute a full tile into scratch, copy the valid part.
                let t = edge.0.as_mut_ptr();
                if load_c {
                    for r in 0..rows {
                        for j in 0..cols {
                            *t.add(r * NR + j) = *cp.add(r * ldc + j);
                        }
                    }
                }
                micro_kernel(kc, ap, bp, t, NR, load_c);
                for r in 0..rows {
                    for j in 0..cols {
                        *cp.add(r * ldc + j) = *t.add(r * NR + j);
                    }
                }
            }
            ir += MR;
        }
        jr += NR;
    }
}

#[repr(C, align(16))]
struct Tile([f32; MR * NR]);

/// MR×NR register tile: C[0..4, 0..8] (ldc) = (load_c ? C : 0) + Σ_p a[p]ᵀ·b[p].
/// `a`: kc×MR packed, `b`: kc×NR packed. Eight accumulators, two B loads and four
/// broadcast A loads per depth (a 6×8 tile spills: V8 has 16 xmm registers).
#[inline(always)]
unsafe fn micro_kernel(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, load_c: bool) {
    let c0 = c;
    let c1 = c.add(ldc);
    let c2 = c.add(2 * ldc);
    let c3 = c.add(3 * ldc);
    let (mut x00, mut x01, mut x10, mut x11, mut x20, mut x21, mut x30, mut x31);
    if load_c {
        x00 = load(c0);
        x01 = load(c0.add(4));
        x10 = load(c1);
        x11 = load(c1.add(4));
        x20 = load(c2);
        x21 = load(c2.add(4));
        x30 = load(c3);
        x31 = load(c3.add(4));
    } else {
        let z = splat(0.0);
        x00 = z;
        x01 = z;
        x10 = z;
        x11 = z;
        x20 = z;
        x21 = z;
        x30 = z;
        x31 = z;
    }
    let mut ap = a;
    let mut bp = b;
    for _ in 0..kc {
        let b0 = load(bp);
        let b1 = load(bp.add(4));
        let a0 = v128_load32_splat(ap as *const u32);
        x00 = fma(a0, b0, x00);
        x01 = fma(a0, b1, x01);
        let a1 = v128_load32_splat(ap.add(1) as *const u32);
        x10 = fma(a1, b0, x10);
        x11 = fma(a1, b1, x11);
        let a2 = v128_load32_splat(ap.add(2) as *const u32);
        x20 = fma(a2, b0, x20);
        x21 = fma(a2, b1, x21);
        let a3 = v128_load32_splat(ap.add(3) as *const u32);
        x30 = fma(a3, b0, x30);
        x31 = fma(a3, b1, x31);
        ap = ap.add(MR);
        bp = bp.add(NR);
    }
    store(c0, x00);
    store(c0.add(4), x01);
    store(c1, x10);
    store(c1.add(4), x11);
    store(c2, x20);
    store(c2.add(4), x21);
    store(c3, x30);
    store(c3.add(4), x31);
}
