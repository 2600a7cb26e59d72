//! Attention over per-position mask descriptors: a fused, tiled forward with an
//! online softmax and the matching backward (FlashAttention-2, Dao 2023), side by side.
//!
//! ```text
//!   q, out, dout, dq: f32 [B, Tq, H, D]        k, v, dk, dv: f32 [B, Tk, Hkv, D]
//!   query head h reads kv head h / (H / Hkv) (grouped-query; Hkv = H is plain multi-head)
//!   qseg, prefix_end: i32 [B, Tq]              kseg: i32 [B, Tk]
//!   bias, dbias (optional, null = none): f32 [H, Tq, Tk], shared by the batch
//!   lse: f32 [B, H, Tq] = log Σ_j exp(s_ij) over visible keys, -inf when none
//!
//!   query i sees key j  iff  qseg[i] == kseg[j]  and  j < min(Tk, max(i + 1, prefix_end[i]))
//!   s_ij = scale · q_i·k_j + bias[h, i, j];  out_i = Σ_j softmax_j(s_i) v_j   (zeros if i sees nothing)
//! ```
//!
//! Forward, per query block I (BQ rows) and key tile J (BK keys), with running row
//! max m_i and sum l_i (Milakov & Gimelshein 2018):
//!   S = scale·Q_I K_Jᵀ + bias, masked to -inf;  m' = max(m, rowmax S);  P = exp(S - m')
//!   l = l·e^{m-m'} + rowsum P;  O = O·e^{m-m'} + P V_J;    at the end out = O / l, lse = m + ln l.
//! Only a BQ×BK score tile ever exists: memory per unit is O(T·D + BQ·BK), never O(T²).
//!
//! Backward, with D_i = dout_i · out_i and P recomputed from the saved lse:
//!   P = exp(S - lse);  dV_J += Pᵀ dO_I;  dP = dO_I V_Jᵀ;  dS = P ∘ (dP - D)
//!   dQ_I += scale · dS K_J;  dK_J += scale · dSᵀ Q_I;  dbias[h, I, J] += dS.
//!
//! Tiles are skipped, not computed, when no query of the block can see any key of
//! the tile: every key is at or past the block's largest bound, or the block's and
//! the tile's segment ids do not overlap. A tile that every query sees whole runs
//! without the per-element mask. Rows of a tile past Tq or Tk are zero padding.
//!
//! Layout inside a unit: K, V (and the backward's Q, dO) are copied into
//! zero-padded buffers with rows of Dp = D rounded up to 8, and K, V also
//! transposed tile by tile (each key tile's Kᵀ a contiguous Dp × BK block), so
//! every product is one register-tiled `tile_gemm` (4×8 f32x4 accumulators) over
//! padded, aligned, contiguous operands.
//!
//! Threads: a forward unit is one (batch, kv head) pair and its H/Hkv query heads
//! over one chunk of the query rows (the caller picks the number of chunks: enough
//! units for every thread when B·Hkv is small; a row's result never depends on it).
//! A backward unit is the same pair over one chunk of query rows (the caller cuts by
//! the sequence length alone: chunk c > 0 writes its share of dK, dV apart, and the
//! caller adds the shares in chunk order), or with a bias one kv head over the whole
//! batch (dbias sums over the batch; one unit owns each of its elements). Units write
//! disjoint outputs in a fixed order, so any number of threads gives the same bits.

use wasm_bindgen::prelude::wasm_bindgen;
use crate::math::ln;
use crate::pool::need;
use crate::simd::*;

/// Query rows per block.
pub const BQ: usize = 32;
/// Keys per tile.
pub const BK: usize = 32;

#[repr(C)]
pub struct AttentionArgs {
    q: *const f32,
    k: *const f32,
    v: *const f32,
    out: *mut f32,
    lse: *mut f32,
    qseg: *const i32,
    kseg: *const i32,
    prefix_end: *const i32,
    bias: *const f32,
    dout: *const f32,
    dq: *mut f32,
    dk: *mut f32,
    dv: *mut f32,
    dbias: *mut f32,
    /// Backward with q_chunks > 1: 2·(q_chunks - 1) arrays shaped as dk (see backward_unit).
    partials: *mut f32,
    b: usize,
    tq: usize,
    tk: usize,
    h: usize,
    hkv: usize,
    d: usize,
    /// The query rows of each (batch, kv head) pair are cut into this many chunks of
    /// whole BQ blocks, one unit each (the backward with a bias takes 1).
    q_chunks: usize,
    scale: f32,
}

#[inline(always)]
fn round_up(x: usize, m: usize) -> usize {
    x.div_ceil(m) * m
}

/// Carves a workspace into 16-byte aligned buffers (a null base only counts).
struct Arena {
    base: *mut f32,
    used: usize,
}

impl Arena {
    fn take(&mut self, n: usize) -> *mut f32 {
        let p = self.base.wrapping_add(self.used);
        self.used += round_up(n, 4);
        p
    }
}

/// Buffers of one unit (forward uses kt, vp, qp (one block), o, s, stats; backward
/// uses all but o).
struct Buffers {
    kt: *mut f32,
    kp: *mut f32,
    vt: *mut f32,
    vp: *mut f32,
    dkp: *mut f32,
    dvp: *mut f32,
    qp: *mut f32,
    dop: *mut f32,
    dqp: *mut f32,
    o: *mut f32,
    s: *mut f32,
    ds: *mut f32,
    /// Per query row: running max (forward) / lse (backward), running sum / D_i.
    row_a: *mut f32,
    row_b: *mut f32,
    bound: *mut i32,
    qs: *mut i32,
    kseg: *mut i32,
    kmin: *mut i32,
    kmax: *mut i32,
    used: usize,
}

fn buffers(base: *mut f32, tq: usize, tk: usize, d: usize, backward: bool) -> Buffers {
    let dp = round_up(d, 8);
    let tkp = round_up(tk, BK);
    let rows = if backward { round_up(tq, BQ) } else { BQ };
    let mut a = Arena { base, used: 0 };
    let kt = a.take(dp * tkp);
    let vp = if backward { a.take(0) } else { a.take(tkp * dp) };
    let (kp, vt, dkp, dvp) = if backward {
        (a.take(tkp * dp), a.take(dp * tkp), a.take(tkp * dp), a.take(tkp * dp))
    } else {
        (a.take(0), a.take(0), a.take(0), a.take(0))
    };
    let qp = a.take(rows * dp);
    let (dop, dqp) = if backward { (a.take(rows * dp), a.take(rows * dp)) } else { (a.take(0), a.take(0)) };
    let o = if backward { a.take(0) } else { a.take(BQ * dp) };
    let s = a.take(BQ * BK);
    let ds = if backward { a.take(BQ * BK) } else { a.take(0) };
    let row_a = a.take(rows);
    let row_b = a.take(rows);
    let bound = a.take(rows) as *mut i32;
    let qs = a.take(rows) as *mut i32;
    let kseg = a.take(tkp) as *mut i32;
    let kmin = a.take(tkp / BK) as *mut i32;
    let kmax = a.take(tkp / BK) as *mut i32;
    Buffers { kt, kp, vt, vp, dkp, dvp, qp, dop, dqp, o, s, ds, row_a, row_b, bound, qs, kseg, kmin, kmax, used: a.used }
}

/// Workspace (f32) one thread needs for a forward (backward = 0) or backward unit.
#[wasm_bindgen]
pub extern "C" fn attention_workspace(tq: usize, tk: usize, d: usize, backward: u32) -> usize {
    buffers(core::ptr::null_mut(), tq, tk, d, backward != 0).used
}

/// dst[r*dp + c] = src[r*stride + c] for r < rows, c < d; zero up to rows_p × dp.
unsafe fn pack_rows(src: *const f32, stride: usize, rows: usize, d: usize, dst: *mut f32, dp: usize, rows_p: usize) {
    for r in 0..rows {
        let o = dst.add(r * dp);
        core::ptr::copy_nonoverlapping(src.add(r * stride), o, d);
        core::ptr::write_bytes(o.add(d), 0, dp - d);
    }
    core::ptr::write_bytes(dst.add(rows * dp), 0, (rows_p - rows) * dp);
}

/// The transpose of src's rows r < rows (columns c < d) in key tiles of BK rows:
/// dst[(r / BK)·dp·BK + c·BK + r % BK] = src[r*stride + c], zero up to dp × rows_p.
/// Tile jt is then a contiguous dp × BK block with rows BK apart: `tile_gemm` walks
/// its depth through one 8 KB block (D = 64) instead of rows Tkp apart, whose
/// power-of-two strides (4 KB and more from Tk = 1,024) all fall in a few L1 sets.
unsafe fn pack_transposed_tiles(src: *const f32, stride: usize, rows: usize, d: usize, dst: *mut f32, dp: usize, rows_p: usize) {
    core::ptr::write_bytes(dst, 0, dp * rows_p);
    for r in 0..rows {
        let s = src.add(r * stride);
        let o = dst.add((r / BK) * dp * BK + r % BK);
        for c in 0..d {
            *o.add(c * BK) = *s.add(c);
        }
    }
}

/// C[m×n] (+)= A·B with A(r, p) = a[r*a_rs + p*a_ps], B(p, j) = b[p*b_rs + j],
/// C(r, j) = c[r*c_rs + j]; m a multiple of 4, n of 8. Same register tile and
/// summation order as the matmul micro-kernel. Out of line: V8 keeps the eight
/// accumulators in registers only in a small function.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
unsafe fn tile_gemm(
    m: usize,
    n: usize,
    depth: usize,
    a: *const f32,
    a_rs: usize,
    a_ps: usize,
    b: *const f32,
    b_rs: usize,
    c: *mut f32,
    c_rs: usize,
    accumulate: bool,
) {
    let mut r = 0;
    while r < m {
        let (a0, a1, a2, a3) = (a.add(r * a_rs), a.add((r + 1) * a_rs), a.add((r + 2) * a_rs), a.add((r + 3) * a_rs));
        let (c0, c1, c2, c3) = (c.add(r * c_rs), c.add((r + 1) * c_rs), c.add((r + 2) * c_rs), c.add((r + 3) * c_rs));
        let mut j = 0;
        while j < n {
            let (mut x00, mut x01, mut x10, mut x11, mut x20, mut x21, mut x30, mut x31);
            if accumulate {
                x00 = load(c0.add(j));
                x01 = load(c0.add(j + 4));
                x10 = load(c1.add(j));
                x11 = load(c1.add(j + 4));
                x20 = load(c2.add(j));
                x21 = load(c2.add(j + 4));
                x30 = load(c3.add(j));
                x31 = load(c3.add(j + 4));
            } else {
                let z = splat(0.0);
                (x00, x01, x10, x11, x20, x21, x30, x31) = (z, z, z, z, z, z, z, z);
            }
            let mut bp = b.add(j);
            let mut ap = 0;
            for _ in 0..depth {
                let b0 = load(bp);
                let b1 = load(bp.add(4));
                let v0 = v128_load32_splat(a0.add(ap) as *const u32);
                x00 = fma(v0, b0, x00);
                x01 = fma(v0, b1, x01);
                let v1 = v128_load32_splat(a1.add(ap) as *const u32);
                x10 = fma(v1, b0, x10);
                x11 = fma(v1, b1, x11);
                let v2 = v128_load32_splat(a2.add(ap) as *const u32);
                x20 = fma(v2, b0, x20);
                x21 = fma(v2, b1, x21);
                let v3 = v128_load32_splat(a3.add(ap) as *const u32);
                x30 = fma(v3, b0, x30);
                x31 = fma(v3, b1, x31);
                bp = bp.add(b_rs);
                ap += a_ps;
            }
            store(c0.add(j), x00);
            store(c0.add(j + 4), x01);
            store(c1.add(j), x10);
            store(c1.add(j + 4), x11);
            store(c2.add(j), x20);
            store(c2.add(j + 4), x21);
            store(c3.add(j), x30);
            store(c3.add(j + 4), x31);
            j += 8;
        }
        r += 4;
    }
}

/// Shape constants of one call.
struct Dims {
    dp: usize,
    tkp: usize,
    group: usize,
}

impl Dims {
    fn new(t: &AttentionArgs) -> Dims {
        Dims { dp: round_up(t.d, 8), tkp: round_up(t.tk, BK), group: t.h / t.hkv }
    }
}

/// Key segments of batch row `bi` padded with i32::MIN, and each tile's segment range.
unsafe fn key_segments(t: &AttentionArgs, bi: usize, buf: &Buffers, tkp: usize) {
    for j in 0..tkp {
        *buf.kseg.add(j) = if j < t.tk { *t.kseg.add(bi * t.tk + j) } else { i32::MIN };
    }
    for jt in 0..tkp / BK {
        let (mut lo, mut hi) = (i32::MAX, i32::MIN);
        for j in jt * BK..core::cmp::min((jt + 1) * BK, t.tk) {
            let s = *buf.kseg.add(j);
            lo = lo.min(s);
            hi = hi.max(s);
        }
        *buf.kmin.add(jt) = lo;
        *buf.kmax.add(jt) = hi;
    }
}

/// Bound and segment of rows i0.. of batch row bi into buf (at offset `at`);
/// returns the block's (min bound, max bound, min segment, max segment).
unsafe fn query_rows(t: &AttentionArgs, bi: usize, i0: usize, rows: usize, buf: &Buffers, at: usize) -> (usize, usize, i32, i32) {
    let (mut bmin, mut bmax, mut qmin, mut qmax) = (usize::MAX, 0, i32::MAX, i32::MIN);
    for r in 0..rows {
        let i = i0 + r;
        let pe = *t.prefix_end.add(bi * t.tq + i);
        let reach = if pe > (i + 1) as i32 { pe as usize } else { i + 1 };
        let bound = core::cmp::min(t.tk, reach);
        let seg = *t.qseg.add(bi * t.tq + i);
        *buf.bound.add(at + r) = bound as i32;
        *buf.qs.add(at + r) = seg;
        bmin = bmin.min(bound);
        bmax = bmax.max(bound);
        qmin = qmin.min(seg);
        qmax = qmax.max(seg);
    }
    (bmin, bmax, qmin, qmax)
}

/// How a (query block, key tile) pair is computed.
#[derive(PartialEq)]
enum Tile {
    Skip,
    /// Every query of the block sees every key of the tile.
    Full,
    Masked,
}

#[inline(always)]
unsafe fn classify(j0: usize, block: (usize, usize, i32, i32), buf: &Buffers, jt: usize) -> Tile {
    let (bmin, bmax, qmin, qmax) = block;
    let (kmin, kmax) = (*buf.kmin.add(jt), *buf.kmax.add(jt));
    if j0 >= bmax || qmax < kmin || kmax < qmin {
        Tile::Skip
    } else if j0 + BK <= bmin && qmin == qmax && kmin == kmax && qmin == kmin {
        Tile::Full
    } else {
        Tile::Masked
    }
}

/// Where in the tile a score row is and what it may see: the bias row at bias[h, i, j0]
/// (null if none), the keys that exist (valid), whether to apply the mask (a Masked
/// tile), the query's bound and segment, and the keys' segments.
struct RowMask {
    bias_row: *const f32,
    valid: usize,
    mask: bool,
    j0: usize,
    bound: i32,
    seg: i32,
    kseg: *const i32,
}

/// Scores c..c+4 of a tile row: scale·s + bias, -inf where masked.
#[inline(always)]
unsafe fn score4(s: v128, c: usize, scale: v128, rm: &RowMask) -> v128 {
    let mut x = f32x4_mul(s, scale);
    if !rm.bias_row.is_null() {
        // Keys past Tk are masked below; never read the bias past its row.
        let b = if c + 4 <= rm.valid {
            load(rm.bias_row.add(c))
        } else if c < rm.valid {
            load_partial(rm.bias_row.add(c), rm.valid - c)
        } else {
            splat(0.0)
        };
        x = f32x4_add(x, b);
    }
    if rm.mask {
        let j = i32x4_add(i32x4_splat((rm.j0 + c) as i32), i32x4(0, 1, 2, 3));
        let visible = v128_and(i32x4_lt(j, i32x4_splat(rm.bound)), i32x4_eq(v128_load(rm.kseg.add(rm.j0 + c) as *const v128), i32x4_splat(rm.seg)));
        x = v128_bitselect(x, splat(f32::NEG_INFINITY), visible);
    }
    x
}

/// Scores of one tile row in place (score4); returns the row max.
#[inline(always)]
unsafe fn score_row(sr: *mut f32, scale: f32, rm: &RowMask) -> f32 {
    let sv = splat(scale);
    let mut mx = splat(f32::NEG_INFINITY);
    let mut c = 0;
    while c < BK {
        let x = score4(load(sr.add(c)), c, sv, rm);
        store(sr.add(c), x);
        mx = f32x4_pmax(mx, x);
        c += 4;
    }
    hmax(mx)
}

// ---------------------------------------------------------------- forward

/// Forward units: (query chunk, batch, kv head), the last chunk first (under a causal
/// mask it sees the most keys, so the longest units are claimed first).
#[inline(never)]
pub unsafe fn forward_unit(t: &AttentionArgs, unit: u32, ws: *mut f32, ws_len: usize) {
    let dims = Dims::new(t);
    let buf = buffers(ws, t.tq, t.tk, t.d, false);
    need(ws_len, buf.used);
    let dp = dims.dp;
    let pairs = t.b * t.hkv;
    let (chunk, pair) = (t.q_chunks - 1 - unit as usize / pairs, unit as usize % pairs);
    let (bi, kvh) = (pair / t.hkv, pair % t.hkv);
    let chunk_rows = t.tq.div_ceil(BQ).div_ceil(t.q_chunks) * BQ;
    let (r0, r1) = (chunk * chunk_rows, core::cmp::min(t.tq, (chunk + 1) * chunk_rows));
    if r0 >= r1 {
        return;
    }
    // Keys at or past every row's bound are never read: pack only those before it.
    let keys = key_reach(t, bi, r0, r1);
    let kv_base = (bi * t.tk * t.hkv + kvh) * t.d;
    pack_transposed_tiles(t.k.add(kv_base), t.hkv * t.d, keys, t.d, buf.kt, dp, round_up(keys, BK));
    pack_rows(t.v.add(kv_base), t.hkv * t.d, keys, t.d, buf.vp, dp, round_up(keys, BK));
    key_segments(t, bi, &buf, dims.tkp);
    for g in 0..dims.group {
        let hh = kvh * dims.group + g;
        let mut i0 = r0;
        while i0 < r1 {
            let rows = core::cmp::min(BQ, r1 - i0);
            forward_block(t, &buf, &dims, bi, hh, i0, rows);
            i0 += BQ;
        }
    }
}

/// The largest bound min(Tk, max(i + 1, prefix_end[i])) over query rows r0..r1 of batch row bi.
unsafe fn key_reach(t: &AttentionArgs, bi: usize, r0: usize, r1: usize) -> usize {
    let mut reach = r1;
    for i in r0..r1 {
        reach = reach.max((*t.prefix_end.add(bi * t.tq + i)).max(0) as usize);
    }
    core::cmp::min(t.tk, reach)
}

#[allow(clippy::too_many_arguments)]
unsafe fn forward_block(t: &AttentionArgs, buf: &Buffers, dims: &Dims, bi: usize, hh: usize, i0: usize, rows: usize) {
    let (dp, tkp) = (dims.dp, dims.tkp);
    let block = query_rows(t, bi, i0, rows, buf, 0);
    pack_rows(t.q.add(((bi * t.tq + i0) * t.h + hh) * t.d), t.h * t.d, rows, t.d, buf.qp, dp, BQ);
    let (m, l) = (buf.row_a, buf.row_b);
    for r in 0..rows {
        *m.add(r) = f32::NEG_INFINITY;
        *l.add(r) = 0.0;
    }
    core::ptr::write_bytes(buf.o, 0, BQ * dp);
    for jt in 0..tkp / BK {
        let j0 = jt * BK;
        let kind = classify(j0, block, buf, jt);
        if kind == Tile::Skip {
            continue;
        }
        tile_gemm(BQ, BK, dp, buf.qp, dp, 1, buf.kt.add(j0 * dp), BK, buf.s, BK, false);
        for r in 0..rows {
            let i = i0 + r;
            let sr = buf.s.add(r * BK);
            let bias_row = if t.bias.is_null() { t.bias } else { t.bias.add((hh * t.tq + i) * t.tk + j0) };
            let rm = RowMask { bias_row, valid: t.tk.saturating_sub(j0), mask: kind == Tile::Masked, j0, bound: *buf.bound.add(r), seg: *buf.qs.add(r), kseg: buf.kseg };
            let row_max = score_row(sr, t.scale, &rm);
            let m_old = *m.add(r);
            let m_new = if row_max > m_old { row_max } else { m_old };
            if m_new == f32::NEG_INFINITY {
                // Nothing visible yet: P = 0 (exp(-inf - -inf) would be NaN).
                core::ptr::write_bytes(sr, 0, BK);
                continue;
            }
            let mv = splat(m_new);
            let mut sum = splat(0.0);
            let mut c = 0;
            while c < BK {
                let p = exp4(f32x4_sub(load(sr.add(c)), mv));
                store(sr.add(c), p);
                sum = f32x4_add(sum, p);
                c += 4;
            }
            // e^0 is exactly 1 (exp4's polynomial at r = 0): no exp when the max stays.
            let alpha = if m_new == m_old { 1.0 } else { exp1(m_old - m_new) };
            *l.add(r) = *l.add(r) * alpha + hsum(sum);
            *m.add(r) = m_new;
            if alpha != 1.0 {
                let (orow, av) = (buf.o.add(r * dp), splat(alpha));
                let mut c = 0;
                while c < dp {
                    store(orow.add(c), f32x4_mul(load(orow.add(c)), av));
                    c += 4;
                }
            }
        }
        tile_gemm(BQ, dp, BK, buf.s, BK, 1, buf.vp.add(j0 * dp), dp, buf.o, dp, true);
    }
    for r in 0..rows {
        let i = i0 + r;
        let dst = t.out.add(((bi * t.tq + i) * t.h + hh) * t.d);
        let sum = *l.add(r);
        let lse = t.lse.add((bi * t.h + hh) * t.tq + i);
        if sum == 0.0 {
            core::ptr::write_bytes(dst, 0, t.d);
            *lse = f32::NEG_INFINITY;
            continue;
        }
        let inv = 1.0 / sum;
        let orow = buf.o.add(r * dp);
        for c in 0..t.d {
            *dst.add(c) = *orow.add(c) * inv;
        }
        *lse = (*m.add(r) as f64 + ln(sum as f64)) as f32;
    }
}

// ---------------------------------------------------------------- backward

/// Backward units: without a bias, (query chunk, batch, kv head), the last chunk first;
/// with one, a kv head over the whole batch (one chunk).
#[inline(never)]
pub unsafe fn backward_unit(t: &AttentionArgs, unit: u32, ws: *mut f32, ws_len: usize) {
    let dims = Dims::new(t);
    let buf = buffers(ws, t.tq, t.tk, t.d, true);
    need(ws_len, buf.used);
    let (dp, tkp) = (dims.dp, dims.tkp);
    let pairs = t.b * t.hkv;
    let (chunk, batches, kvh) = if t.bias.is_null() {
        let pair = unit as usize % pairs;
        let bi = pair / t.hkv;
        (t.q_chunks - 1 - unit as usize / pairs, bi..bi + 1, pair % t.hkv)
    } else {
        (0, 0..t.b, unit as usize)
    };
    let chunk_rows = t.tq.div_ceil(BQ).div_ceil(t.q_chunks) * BQ;
    let (r0, r1) = (chunk * chunk_rows, core::cmp::min(t.tq, (chunk + 1) * chunk_rows));
    // Chunk 0 writes dK and dV; chunk c > 0 its own share into partial c - 1 (dK then dV),
    // which the caller adds in chunk order and scales (one chunk: scaled here, as always).
    let size = t.b * t.tk * t.hkv * t.d;
    let (dk, dv) = if chunk == 0 { (t.dk, t.dv) } else { (t.partials.add(2 * (chunk - 1) * size), t.partials.add((2 * chunk - 1) * size)) };
    let scale = splat(if t.q_chunks == 1 { t.scale } else { 1.0 });
    for bi in batches {
        let kv_base = (bi * t.tk * t.hkv + kvh) * t.d;
        let stride = t.hkv * t.d;
        core::ptr::write_bytes(buf.dkp, 0, tkp * dp);
        core::ptr::write_bytes(buf.dvp, 0, tkp * dp);
        if r0 < r1 {
            // Keys at or past every row's bound get no gradient from this chunk: pack only those before it.
            let keys = key_reach(t, bi, r0, r1);
            let keys_p = round_up(keys, BK);
            pack_transposed_tiles(t.k.add(kv_base), stride, keys, t.d, buf.kt, dp, keys_p);
            pack_rows(t.k.add(kv_base), stride, keys, t.d, buf.kp, dp, keys_p);
            pack_transposed_tiles(t.v.add(kv_base), stride, keys, t.d, buf.vt, dp, keys_p);
            key_segments(t, bi, &buf, tkp);
            for g in 0..dims.group {
                backward_head(t, &buf, &dims, bi, kvh * dims.group + g, r0, r1);
            }
        }
        for j in 0..t.tk {
            let o = ((bi * t.tk + j) * t.hkv + kvh) * t.d;
            scale_row(buf.dkp.add(j * dp), dk.add(o), t.d, scale);
            core::ptr::copy_nonoverlapping(buf.dvp.add(j * dp), dv.add(o), t.d);
        }
    }
}

/// dst[0..d] = src[0..d] · s (src padded to a multiple of 4).
unsafe fn scale_row(src: *const f32, dst: *mut f32, d: usize, s: v128) {
    let mut c = 0;
    while c + 4 <= d {
        store(dst.add(c), f32x4_mul(load(src.add(c)), s));
        c += 4;
    }
    if c < d {
        store_partial(dst.add(c), f32x4_mul(load(src.add(c)), s), d - c);
    }
}

/// Query rows r0..r1 of head hh in batch row bi: their dQ, and their share of dK, dV
/// added into the unit's dkp, dvp. Q, dO, dQ and the row buffers hold rows r0.. at 0.
#[allow(clippy::too_many_arguments)]
unsafe fn backward_head(t: &AttentionArgs, buf: &Buffers, dims: &Dims, bi: usize, hh: usize, r0: usize, r1: usize) {
    let (dp, tkp) = (dims.dp, dims.tkp);
    let n = r1 - r0;
    let np = round_up(n, BQ);
    let row0 = ((bi * t.tq + r0) * t.h + hh) * t.d;
    pack_rows(t.q.add(row0), t.h * t.d, n, t.d, buf.qp, dp, np);
    pack_rows(t.dout.add(row0), t.h * t.d, n, t.d, buf.dop, dp, np);
    core::ptr::write_bytes(buf.dqp, 0, np * dp);
    let (lse, di) = (buf.row_a, buf.row_b);
    for i in 0..n {
        *lse.add(i) = *t.lse.add((bi * t.h + hh) * t.tq + r0 + i);
        let o = row0 + i * t.h * t.d;
        *di.add(i) = dot(t.dout.add(o), t.out.add(o), t.d);
    }
    let mut i0 = 0;
    while i0 < n {
        let rows = core::cmp::min(BQ, n - i0);
        let block = query_rows(t, bi, r0 + i0, rows, buf, i0);
        for jt in 0..tkp / BK {
            let j0 = jt * BK;
            let kind = classify(j0, block, buf, jt);
            if kind == Tile::Skip {
                continue;
            }
            let (p, ds) = (buf.s, buf.ds);
            tile_gemm(BQ, BK, dp, buf.qp.add(i0 * dp), dp, 1, buf.kt.add(j0 * dp), BK, p, BK, false);
            tile_gemm(BQ, BK, dp, buf.dop.add(i0 * dp), dp, 1, buf.vt.add(j0 * dp), BK, ds, BK, false);
            for r in 0..rows {
                // i indexes the row buffers; r0 + i is the query's row in the sequence.
                let i = i0 + r;
                let (pr, dsr) = (p.add(r * BK), ds.add(r * BK));
                let l = *lse.add(i);
                if l == f32::NEG_INFINITY {
                    core::ptr::write_bytes(pr, 0, BK);
                    core::ptr::write_bytes(dsr, 0, BK);
                    continue;
                }
                let bias_row = if t.bias.is_null() { t.bias } else { t.bias.add((hh * t.tq + r0 + i) * t.tk + j0) };
                let valid = t.tk.saturating_sub(j0);
                let rm = RowMask { bias_row, valid, mask: kind == Tile::Masked, j0, bound: *buf.bound.add(i), seg: *buf.qs.add(i), kseg: buf.kseg };
                // P from the saved lse needs no row max: scores, P and dS in one pass.
                let (sv, lv, dv) = (splat(t.scale), splat(l), splat(*di.add(i)));
                let mut c = 0;
                while c < BK {
                    let pv = exp4(f32x4_sub(score4(load(pr.add(c)), c, sv, &rm), lv));
                    store(pr.add(c), pv);
                    store(dsr.add(c), f32x4_mul(pv, f32x4_sub(load(dsr.add(c)), dv)));
                    c += 4;
                }
                if !t.dbias.is_null() {
                    let dst = t.dbias.add((hh * t.tq + r0 + i) * t.tk + j0);
                    for c in 0..core::cmp::min(BK, valid) {
                        *dst.add(c) += *dsr.add(c);
                    }
                }
            }
            // Rows past Tq hold zeros in P and dS: Q and dO are zero-padded.
            tile_gemm(BK, dp, BQ, p, 1, BK, buf.dop.add(i0 * dp), dp, buf.dvp.add(j0 * dp), dp, true);
            tile_gemm(BK, dp, BQ, ds, 1, BK, buf.qp.add(i0 * dp), dp, buf.dkp.add(j0 * dp), dp, true);
            tile_gemm(BQ, dp, BK, ds, BK, 1, buf.kp.add(j0 * dp), dp, buf.dqp.add(i0 * dp), dp, true);
        }
        i0 += BQ;
    }
    let scale = splat(t.scale);
    for i in 0..n {
        scale_row(buf.dqp.add(i * dp), t.dq.add(row0 + i * t.h * t.d), t.d, scale);
    }
}
