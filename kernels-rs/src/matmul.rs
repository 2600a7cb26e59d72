//! Matrix multiply, f32, row-major.
//!
//! ```text
//! matmul(a, b, c, m, k, n, trans_a, trans_b, accumulate)
//!
//!   C[m,n] = op(A)[m,k] · op(B)[k,n]        (+ C[m,n] if accumulate)
//!
//!   op(A) = A,  A stored [m,k]  (a[i*k + p])       when !trans_a
//!   op(A) = Aᵀ, A stored [k,m]  (a[p*m + i])       when  trans_a
//!   op(B) = B,  B stored [k,n]  (b[p*n + j])       when !trans_b
//!   op(B) = Bᵀ, B stored [n,k]  (b[j*k + p])       when  trans_b
//!   C stored [m,n] (c[i*n + j]); C must not overlap A or B.
//! ```
//!
//! Forward and backward of `Y = X·W` (X [m,k], W [k,n], Y [m,n]):
//!
//! | product              | call                                              |
//! |----------------------|---------------------------------------------------|
//! | forward  Y  = X·W    | `matmul(x,  w,  y,  m, k, n, false, false, false)` |
//! | forward  Y  = X·Wᵀ   | `matmul(x,  w,  y,  m, k, n, false, true,  false)` (W stored [n,k]) |
//! | backward dX = dY·Wᵀ  | `matmul(dy, w,  dx, m, n, k, false, true,  acc)`   |
//! | backward dW = Xᵀ·dY  | `matmul(x,  dy, dw, k, m, n, true,  false, acc)`   |
//!
//! (`acc` = true adds into an existing gradient.) For `Y = X·Wᵀ` the backward
//! products are dX = dY·W (NN) and dW = dYᵀ·X (TN).
//!
//! Algorithm (GotoBLAS/BLIS style, deterministic: the summation order depends
//! only on the shapes):
//!   for each NC-wide column block of op(B):
//!     for each KC-deep slice of k:
//!       pack op(B)[pc.., jc..] into NR-wide strips (k-major, zero-padded)
//!       for each MC-tall row block of op(A):
//!         pack op(A)[ic.., pc..] into MR-tall strips (k-major, zero-padded)
//!         for every MR×NR tile: micro-kernel over KC (register tile of
//!         MR×NR/4 f32x4 accumulators), C = tile (first slice, !accumulate)
//!         or C += tile.
//! Packing makes the micro-kernel read both operands contiguously whatever
//! the transposition, so all four variants run the same inner loop.

use wasm_bindgen::prelude::*;

/// Rows of the register tile.
pub const MR: usize = 4;
/// Columns of the register tile (two f32x4).
pub const NR: usize = 8;
/// Depth of one packed slice (the A strip, MR×KC, and B strip, KC×NR, stay in L1).
pub const KC: usize = 256;
/// Rows of op(A) packed at once (MC×KC f32 = 128 KiB, L2).
pub const MC: usize = 128;
/// Columns of op(B) packed at once (KC×NC f32 = 1 MiB).
pub const NC: usize = 1024;

/// Scratch f32 counts needed by [`gemm`].
pub const PACK_A_LEN: usize = MC * KC;
pub const PACK_B_LEN: usize = KC * NC;

#[repr(C, align(16))]
struct Scratch {
    a: [f32; PACK_A_LEN],
    b: [f32; PACK_B_LEN],
}

struct ScratchCell(core::cell::UnsafeCell<Scratch>);
// Kernels are not re-entrant: one instance runs one kernel at a time.
unsafe impl Sync for ScratchCell {}

static SCRATCH: ScratchCell = ScratchCell(core::cell::UnsafeCell::new(Scratch {
    a: [0.0; PACK_A_LEN],
    b: [0.0; PACK_B_LEN],
}));

/// C[m,n] = op(A)·op(B) (+ C). Pointers are byte offsets into linear memory.
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    a: usize,
    b: usize,
    c: usize,
    m: usize,
    k: usize,
    n: usize,
    trans_a: bool,
    trans_b: bool,
    accumulate: bool,
) {
    unsafe {
        let s = SCRATCH.0.get();
        gemm(
            a as *const f32,
            b as *const f32,
            c as *mut f32,
            m,
            k,
            n,
            trans_a,
            trans_b,
            accumulate,
            core::ptr::addr_of_mut!((*s).a) as *mut f32,
            core::ptr::addr_of_mut!((*s).b) as *mut f32,
        )
    }
}

/// The whole algorithm with explicit scratch (`pack_a`: PACK_A_LEN f32,
/// `pack_b`: PACK_B_LEN f32, both 16-byte aligned).
///
/// # Safety
/// All pointers valid for their shapes; `c` does not overlap `a`, `b` or the scratch.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm(
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    m: usize,
    k: usize,
    n: usize,
    trans_a: bool,
    trans_b: bool,
    accumulate: bool,
    pack_a: *mut f32,
    pack_b: *mut f32,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            core::ptr::write_bytes(c, 0, m * n);
        }
        return;
    }
    let mut jc = 0;
    while jc < n {
        let nc = min(NC, n - jc);
        let mut pc = 0;
        while pc < k {
            let kc = min(KC, k - pc);
            pack_b_block(b, k, n, trans_b, pc, jc, kc, nc, pack_b);
            let load_c = accumulate || pc > 0;
            let mut ic = 0;
            while ic < m {
                let mc = min(MC, m - ic);
                pack_a_block(a, m, k, trans_a, ic, pc, mc, kc, pack_a);
                macro_kernel(mc, nc, kc, pack_a, pack_b, c.add(ic * n + jc), n, load_c);
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

/// Pack op(A)[ic..ic+mc, pc..pc+kc] as ceil(mc/MR) strips; strip s holds
/// element (row r, depth p) at `s*MR*kc + p*MR + r`; rows past mc are 0.
#[allow(clippy::too_many_arguments)]
unsafe fn pack_a_block(
    a: *const f32,
    m: usize,
    k: usize,
    trans_a: bool,
    ic: usize,
    pc: usize,
    mc: usize,
    kc: usize,
    dst: *mut f32,
) {
    let mut s = 0;
    while s * MR < mc {
        let out = dst.add(s * MR * kc);
        let r0 = ic + s * MR;
        let rn = min(MR, mc - s * MR);
        if trans_a {
            // op(A)[i][p] = a[p*m + i]: the MR values of one depth are contiguous.
            for p in 0..kc {
                let src = a.add((pc + p) * m + r0);
                let o = out.add(p * MR);
                if rn == MR {
                    copy4(src, o);
                } else {
                    for r in 0..MR {
                        *o.add(r) = if r < rn { *src.add(r) } else { 0.0 };
                    }
                }
            }
        } else {
            // op(A)[i][p] = a[i*k + p]: read each row contiguously.
            for r in 0..MR {
                if r < rn {
                    let src = a.add((r0 + r) * k + pc);
                    for p in 0..kc {
                        *out.add(p * MR + r) = *src.add(p);
                    }
                } else {
                    for p in 0..kc {
                        *out.add(p * MR + r) = 0.0;
                    }
                }
            }
        }
        s += 1;
    }
}

/// Pack op(B)[pc..pc+kc, jc..jc+nc] as ceil(nc/NR) strips; strip t holds
/// element (depth p, column j) at `t*NR*kc + p*NR + j`; columns past nc are 0.
#[allow(clippy::too_many_arguments)]
unsafe fn pack_b_block(
    b: *const f32,
    k: usize,
    n: usize,
    trans_b: bool,
    pc: usize,
    jc: usize,
    kc: usize,
    nc: usize,
    dst: *mut f32,
) {
    let mut t = 0;
    while t * NR < nc {
        let out = dst.add(t * NR * kc);
        let c0 = jc + t * NR;
        let cn = min(NR, nc - t * NR);
        if trans_b {
            // op(B)[p][j] = b[j*k + p]: read each stored row (a column of op(B)).
            for j in 0..NR {
                if j < cn {
                    let src = b.add((c0 + j) * k + pc);
                    for p in 0..kc {
                        *out.add(p * NR + j) = *src.add(p);
                    }
                } else {
                    for p in 0..kc {
                        *out.add(p * NR + j) = 0.0;
                    }
                }
            }
        } else {
            // op(B)[p][j] = b[p*n + j]: NR contiguous values per depth.
            for p in 0..kc {
                let src = b.add((pc + p) * n + c0);
                let o = out.add(p * NR);
                if cn == NR {
                    copy4(src, o);
                    copy4(src.add(4), o.add(4));
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
unsafe fn macro_kernel(
    mc: usize,
    nc: usize,
    kc: usize,
    pa: *const f32,
    pb: *const f32,
    c: *mut f32,
    ldc: usize,
    load_c: bool,
) {
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

#[cfg(target_arch = "wasm32")]
#[inline(always)]
unsafe fn copy4(src: *const f32, dst: *mut f32) {
    use core::arch::wasm32::{v128, v128_load, v128_store};
    v128_store(dst as *mut v128, v128_load(src as *const v128));
}

#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
unsafe fn copy4(src: *const f32, dst: *mut f32) {
    core::ptr::copy_nonoverlapping(src, dst, 4);
}

/// MR×NR register tile: C[0..4, 0..8] (ldc) = (load_c ? C : 0) + Σ_p a[p]ᵀ·b[p].
/// `a`: kc×MR packed, `b`: kc×NR packed.
#[cfg(target_arch = "wasm32")]
#[inline(always)]
unsafe fn micro_kernel(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, load_c: bool) {
    use core::arch::wasm32::*;
    let c0 = c;
    let c1 = c.add(ldc);
    let c2 = c.add(2 * ldc);
    let c3 = c.add(3 * ldc);
    let (mut x00, mut x01, mut x10, mut x11, mut x20, mut x21, mut x30, mut x31);
    if load_c {
        x00 = v128_load(c0 as *const v128);
        x01 = v128_load(c0.add(4) as *const v128);
        x10 = v128_load(c1 as *const v128);
        x11 = v128_load(c1.add(4) as *const v128);
        x20 = v128_load(c2 as *const v128);
        x21 = v128_load(c2.add(4) as *const v128);
        x30 = v128_load(c3 as *const v128);
        x31 = v128_load(c3.add(4) as *const v128);
    } else {
        let z = f32x4_splat(0.0);
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
        let b0 = v128_load(bp as *const v128);
        let b1 = v128_load(bp.add(4) as *const v128);
        let a0 = v128_load32_splat(ap as *const u32);
        x00 = f32x4_add(x00, f32x4_mul(a0, b0));
        x01 = f32x4_add(x01, f32x4_mul(a0, b1));
        let a1 = v128_load32_splat(ap.add(1) as *const u32);
        x10 = f32x4_add(x10, f32x4_mul(a1, b0));
        x11 = f32x4_add(x11, f32x4_mul(a1, b1));
        let a2 = v128_load32_splat(ap.add(2) as *const u32);
        x20 = f32x4_add(x20, f32x4_mul(a2, b0));
        x21 = f32x4_add(x21, f32x4_mul(a2, b1));
        let a3 = v128_load32_splat(ap.add(3) as *const u32);
        x30 = f32x4_add(x30, f32x4_mul(a3, b0));
        x31 = f32x4_add(x31, f32x4_mul(a3, b1));
        ap = ap.add(MR);
        bp = bp.add(NR);
    }
    v128_store(c0 as *mut v128, x00);
    v128_store(c0.add(4) as *mut v128, x01);
    v128_store(c1 as *mut v128, x10);
    v128_store(c1.add(4) as *mut v128, x11);
    v128_store(c2 as *mut v128, x20);
    v128_store(c2.add(4) as *mut v128, x21);
    v128_store(c3 as *mut v128, x30);
    v128_store(c3.add(4) as *mut v128, x31);
}

/// Host (test) version of the micro-kernel: same summation order per lane.
#[cfg(not(target_arch = "wasm32"))]
unsafe fn micro_kernel(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, load_c: bool) {
    let mut acc = [[0.0f32; NR]; MR];
    if load_c {
        for (r, row) in acc.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = *c.add(r * ldc + j);
            }
        }
    }
    for p in 0..kc {
        for (r, row) in acc.iter_mut().enumerate() {
            let av = *a.add(p * MR + r);
            for (j, v) in row.iter_mut().enumerate() {
                *v += av * *b.add(p * NR + j);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            *c.add(r * ldc + j) = *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random values in [-1, 1).
    fn fill(len: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2654435761).wrapping_add(1);
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn naive(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize, ta: bool, tb: bool, acc: bool) {
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f64;
                for p in 0..k {
                    let av = if ta { a[p * m + i] } else { a[i * k + p] };
                    let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                    s += av as f64 * bv as f64;
                }
                let prev = if acc { c[i * n + j] as f64 } else { 0.0 };
                c[i * n + j] = (prev + s) as f32;
            }
        }
    }

    fn check(m: usize, k: usize, n: usize) {
        let mut pa = vec![0.0f32; PACK_A_LEN];
        let mut pb = vec![0.0f32; PACK_B_LEN];
        for &ta in &[false, true] {
            for &tb in &[false, true] {
                for &acc in &[false, true] {
                    let a = fill(m * k, 1 + m as u32);
                    let b = fill(k * n, 2 + n as u32);
                    let c0 = fill(m * n, 3 + k as u32);
                    let mut want = c0.clone();
                    naive(&a, &b, &mut want, m, k, n, ta, tb, acc);
                    let mut got = c0.clone();
                    unsafe {
                        gemm(a.as_ptr(), b.as_ptr(), got.as_mut_ptr(), m, k, n, ta, tb, acc,
                             pa.as_mut_ptr(), pb.as_mut_ptr());
                    }
                    for idx in 0..m * n {
                        let tol = 1e-5 * (k as f32).sqrt().max(1.0) * 4.0;
                        assert!(
                            (got[idx] - want[idx]).abs() <= tol,
                            "m={m} k={k} n={n} ta={ta} tb={tb} acc={acc} idx={idx}: {} vs {}",
                            got[idx], want[idx]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn odd_shapes() {
        for &(m, k, n) in &[
            (1, 1, 1), (1, 3, 7), (3, 1, 5), (7, 17, 3), (17, 33, 65), (33, 7, 9),
            (65, 65, 17), (5, 300, 9), (130, 9, 11), (4, 8, 8), (129, 257, 1030),
        ] {
            check(m, k, n);
        }
    }

    #[test]
    fn k_zero() {
        let mut pa = vec![0.0f32; PACK_A_LEN];
        let mut pb = vec![0.0f32; PACK_B_LEN];
        let mut c = vec![5.0f32; 6];
        unsafe { gemm([].as_ptr(), [].as_ptr(), c.as_mut_ptr(), 2, 0, 3, false, false, true, pa.as_mut_ptr(), pb.as_mut_ptr()) };
        assert!(c.iter().all(|&v| v == 5.0));
        unsafe { gemm([].as_ptr(), [].as_ptr(), c.as_mut_ptr(), 2, 0, 3, false, false, false, pa.as_mut_ptr(), pb.as_mut_ptr()) };
        assert!(c.iter().all(|&v| v == 0.0));
    }
}
