//! Work sharing between the main thread and the workers.
//!
//! ```text
//! Task (in linear memory, 128 bytes, written by the main thread):
//!   word 0  next    next unit to claim (CLOSED between tasks)
//!   word 1  done    units finished
//!   word 2  units   number of units of this task
//!   word 3  op      which kernel (OP_* below)
//!   words 4..32     the op's arguments, a #[repr(C)] struct per op: pointers and
//!                   integers first, then f32 values
//! ```
//!
//! A parallel op is cut into independent units (row blocks of a matmul, (batch,
//! kv head) pairs of attention, row blocks of the cross-entropy). Every thread,
//! the main one included, calls `pool_work`, which claims units with an atomic
//! counter until none is left. A unit's result depends only on the unit, never on
//! which thread ran it or on how many threads there are, so 1 and N threads give
//! bit-identical results, and a thread that is late (descheduled, still starting)
//! only means the others run more units.
//!
//! Protocol (the main thread, see thread-pool.ts): while `next` is CLOSED write op,
//! units and arguments, set `done` = 0, then `next` = 0 (the publishing store); wake
//! the workers; run `pool_work` itself; wait until `done` == units (a worker
//! notifies `done` after its `pool_work` returns); set `next` = CLOSED. A worker
//! that wakes late finds `next` >= units and returns at once.

use core::sync::atomic::{AtomicU32, Ordering::SeqCst};

/// `next` between tasks: far above any unit count, so late claims fail.
pub const CLOSED: u32 = 0x4000_0000;

pub const OP_MATMUL: u32 = 1;
pub const OP_ATTENTION_FORWARD: u32 = 2;
pub const OP_ATTENTION_BACKWARD: u32 = 3;
pub const OP_CROSS_ENTROPY: u32 = 4;

#[repr(C)]
pub struct Task {
    next: AtomicU32,
    done: AtomicU32,
    units: u32,
    op: u32,
    args: [u32; 28],
}

/// Run units of `task` until none is left; returns how many this thread ran.
/// `ws` is this thread's workspace (`ws_len` f32), sized by the main thread with
/// the op's `*_workspace` function.
#[no_mangle]
pub unsafe extern "C" fn pool_work(task: *mut Task, ws: *mut f32, ws_len: usize) -> u32 {
    let t = &*task;
    let mut ran = 0;
    loop {
        let unit = t.next.fetch_add(1, SeqCst);
        // The fields below were written before `next` was reset to 0, so a
        // successful claim sees them.
        if unit >= t.units {
            return ran;
        }
        let args = t.args.as_ptr();
        match t.op {
            OP_MATMUL => crate::matmul::task_unit(&*(args as *const _), unit, ws, ws_len),
            OP_ATTENTION_FORWARD => crate::attention::forward_unit(&*(args as *const _), unit, ws, ws_len),
            OP_ATTENTION_BACKWARD => crate::attention::backward_unit(&*(args as *const _), unit, ws, ws_len),
            OP_CROSS_ENTROPY => crate::cross_entropy::task_unit(&*(args as *const _), unit),
            _ => core::arch::wasm32::unreachable(),
        }
        t.done.fetch_add(1, SeqCst);
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
