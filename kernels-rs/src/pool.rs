//! Work sharing between the main thread and the workers.
//!
//! ```text
//! Task (in linear memory, 128 bytes, written by the main thread):
//!   word 0  claim   tag << 20 | next unit to claim (unit = CLOSED between tasks)
//!   word 1  done    units finished
//!   word 2  units   number of units of this task (< CLOSED)
//!   word 3  op      which kernel (OP_* below)
//!   words 4..32     the op's arguments, a #[repr(C)] struct per op: pointers and
//!                   integers first, then f32 values
//! ```
//!
//! A parallel op is cut into independent units (blocks of a matmul, (batch, kv head)
//! pairs of attention over chunks of query rows, row blocks of the cross-entropy, blocks of elements of an
//! elementwise kernel). Every thread, the main one
//! included, calls `pool_work`, which claims units until none is left. A unit's result
//! depends only on the unit, never on which thread ran it or on how many threads there
//! are, so 1 and N threads give bit-identical results, and a thread that is late
//! (descheduled, still starting) only means the others run more units.
//!
//! Protocol (the main thread, see thread-pool.ts): with the claim word closed
//! (unit = CLOSED), write op, units and arguments, set `done` = 0, then publish
//! `claim` = new tag << 20 | 0; wake the workers; run `pool_work` itself; wait until
//! `done` == units (a worker notifies `done` after its `pool_work` returns); close the
//! claim word (same tag, unit = CLOSED).
//!
//! A worker may wake late, or still be inside `pool_work` when the next task is being
//! written. So a claim is a compare-and-swap of the whole claim word, done after
//! reading the task's fields: if the main thread closed or republished the task in
//! between, the word changed, the swap fails and the worker looks again. A unit is
//! therefore only ever run with the fields of the task it was claimed from, exactly
//! once. The fields are read afresh for every claim (volatile: they change between
//! tasks behind the compiler's back).

use wasm_bindgen::prelude::wasm_bindgen;
use core::ptr::{addr_of, read_volatile};
use core::sync::atomic::{AtomicU32, Ordering::SeqCst};

/// The unit part (low 20 bits) of the claim word between tasks: above any unit count.
pub const CLOSED: u32 = 0xF_FFFF;

pub const OP_MATMUL: u32 = 1;
pub const OP_ATTENTION_FORWARD: u32 = 2;
pub const OP_ATTENTION_BACKWARD: u32 = 3;
pub const OP_CROSS_ENTROPY: u32 = 4;
pub const OP_MAP: u32 = 5;
pub const OP_MATMUL_FUSED: u32 = 6;

#[repr(C)]
pub struct Task {
    claim: AtomicU32,
    done: AtomicU32,
    units: u32,
    op: u32,
    args: [u32; 28],
}

/// Run units of `task` until none is left; returns how many this thread ran.
/// `ws` is this thread's workspace (`ws_len` f32), sized by the main thread with
/// the op's `*_workspace` function.
#[wasm_bindgen]
pub unsafe extern "C" fn pool_work(task: *mut Task, ws: *mut f32, ws_len: usize) -> u32 {
    let claim = &(*task).claim;
    let mut ran = 0;
    loop {
        let word = claim.load(SeqCst);
        let unit = word & CLOSED;
        let units = read_volatile(addr_of!((*task).units));
        if unit >= units {
            return ran;
        }
        let op = read_volatile(addr_of!((*task).op));
        let args = read_volatile(addr_of!((*task).args));
        if claim.compare_exchange(word, word + 1, SeqCst, SeqCst).is_err() {
            continue;
        }
        let a = args.as_ptr();
        match op {
            OP_MATMUL => crate::matmul::task_unit(&*(a as *const _), unit, ws, ws_len),
            OP_ATTENTION_FORWARD => crate::attention::forward_unit(&*(a as *const _), unit, ws, ws_len),
            OP_ATTENTION_BACKWARD => crate::attention::backward_unit(&*(a as *const _), unit, ws, ws_len),
            OP_CROSS_ENTROPY => crate::cross_entropy::task_unit(&*(a as *const _), unit),
            OP_MAP => crate::map::task_unit(&*(a as *const _), unit),
            OP_MATMUL_FUSED => crate::fused::task_unit(&*(a as *const _), unit, ws, ws_len),
            _ => core::arch::wasm32::unreachable(),
        }
        (*task).done.fetch_add(1, SeqCst);
        ran += 1;
    }
}

/// A workspace too small for a unit is a bug in the caller: trap rather than
/// write past it.
#[inline(always)]
pub fn need(ws_len: usize, needed: usize) {
    if ws_len < needed {
        core::arch::wasm32::unreachable()
    }
}
