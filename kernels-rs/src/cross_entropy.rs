//! Fused softmax cross-entropy with a loss mask: loss and d loss / d logits in one
//! pass over each row of logits.
//!
//! ```text
//!   logits, dlogits: f32 [n, v] (row-major); targets: i32 [n]; mask: f32 [n] (0/1 or a weight)
//!   norm = 1 / Σ_r mask[r]  (0 when every row is masked)
//!   row_loss[r] = mask[r] · (logsumexp(logits[r]) - logits[r, targets[r]])     (f64 [n])
//!   dlogits[r]  = mask[r] · norm · (softmax(logits[r]) - onehot(targets[r]))
//!   loss        = norm · Σ_r row_loss[r]      (cross_entropy_reduce, rows in order)
//! ```
//! Each row is: max; e = exp(x - max) written into dlogits while summing; then
//! dlogits = e · (mask·norm / Σe), minus mask·norm at the target. A row whose mask is
//! 0 gets zeros and is not checked. A target outside [0, v) of an unmasked row is
//! reported through `error` (the smallest such row + 1, atomically; 0 = none).
//!
//! Threads: units are blocks of `rows_per_unit` rows; rows are independent and the
//! final sum runs in row order on one thread, so any split gives the same bits.

use wasm_bindgen::prelude::wasm_bindgen;
use crate::math::ln;
use crate::simd::*;
use core::sync::atomic::{AtomicI32, Ordering::SeqCst};

#[repr(C)]
pub struct CrossEntropyArgs {
    logits: *const f32,
    targets: *const i32,
    mask: *const f32,
    dlogits: *mut f32,
    row_loss: *mut f64,
    error: *mut i32,
    n: usize,
    v: usize,
    rows_per_unit: usize,
    norm: f32,
}

#[inline(never)]
pub unsafe fn task_unit(t: &CrossEntropyArgs, unit: u32) {
    let r0 = unit as usize * t.rows_per_unit;
    let r1 = if r0 + t.rows_per_unit < t.n { r0 + t.rows_per_unit } else { t.n };
    for r in r0..r1 {
        row(t, r);
    }
}

unsafe fn row(t: &CrossEntropyArgs, r: usize) {
    let v = t.v;
    let x = t.logits.add(r * v);
    let dx = t.dlogits.add(r * v);
    let weight = *t.mask.add(r);
    *t.row_loss.add(r) = 0.0;
    if weight == 0.0 {
        core::ptr::write_bytes(dx, 0, v);
        return;
    }
    let target = *t.targets.add(r);
    if target < 0 || target as usize >= v {
        (*(t.error as *const AtomicI32)).fetch_min_nonzero(r as i32 + 1);
        core::ptr::write_bytes(dx, 0, v);
        return;
    }
    // Max.
    let mut mv = splat(f32::NEG_INFINITY);
    let mut j = 0;
    while j + 4 <= v {
        mv = f32x4_pmax(mv, load(x.add(j)));
        j += 4;
    }
    let mut max = hmax(mv);
    while j < v {
        max = max.max(*x.add(j));
        j += 1;
    }
    // e = exp(x - max) into dlogits, and its sum.
    let maxv = splat(max);
    let mut sv = splat(0.0);
    j = 0;
    while j + 4 <= v {
        let e = exp4(f32x4_sub(load(x.add(j)), maxv));
        store(dx.add(j), e);
        sv = f32x4_add(sv, e);
        j += 4;
    }
    let mut sum = hsum(sv);
    while j < v {
        let e = exp1(*x.add(j) - max);
        *dx.add(j) = e;
        sum += e;
        j += 1;
    }
    let g = weight * t.norm;
    let k = splat(g / sum);
    j = 0;
    while j + 4 <= v {
        store(dx.add(j), f32x4_mul(load(dx.add(j)), k));
        j += 4;
    }
    while j < v {
        *dx.add(j) *= g / sum;
        j += 1;
    }
    *dx.add(target as usize) -= g;
    let log_sum = ln(sum as f64) + max as f64;
    *t.row_loss.add(r) = weight as f64 * (log_sum - *x.add(target as usize) as f64);
}

trait FetchMinNonzero {
    fn fetch_min_nonzero(&self, value: i32);
}

impl FetchMinNonzero for AtomicI32 {
    /// Keep the smallest non-zero value (0 means "no error yet").
    fn fetch_min_nonzero(&self, value: i32) {
        let mut cur = self.load(SeqCst);
        while cur == 0 || value < cur {
            match self.compare_exchange(cur, value, SeqCst, SeqCst) {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }
}

/// Σ mask over n rows, in f64 (the count of unmasked rows).
#[wasm_bindgen]
pub unsafe extern "C" fn cross_entropy_count(mask: *const f32, n: usize) -> f64 {
    (0..n).map(|r| *mask.add(r) as f64).sum()
}

/// norm · Σ row_loss, rows in order.
#[wasm_bindgen]
pub unsafe extern "C" fn cross_entropy_reduce(row_loss: *const f64, n: usize, norm: f64) -> f64 {
    (0..n).map(|r| *row_loss.add(r)).sum::<f64>() * norm
}
