//! Token embedding, forward (gather) and backward (scatter-add).
//!
//! ```text
//!   ids: i32 [n]; table, dtable: f32 [v, d] (row-major); y, dy: f32 [n, d]
//!   forward   y[i, :] = table[ids[i], :]
//!   backward  dtable = 0; for i in 0..n (in order): dtable[ids[i], :] += dy[i, :]
//! ```
//! Both return -1 when every id is in [0, v), else the first position whose id is
//! not (then nothing is guaranteed about the output; the caller reports the error).
//! The backward adds rows in position order, so repeated ids sum in a fixed order.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub unsafe extern "C" fn embedding_forward(ids: *const i32, table: *const f32, y: *mut f32, n: usize, d: usize, v: usize) -> i32 {
    if let Some(bad) = first_bad_id(ids, n, v) {
        return bad;
    }
    for i in 0..n {
        core::ptr::copy_nonoverlapping(table.add(*ids.add(i) as usize * d), y.add(i * d), d);
    }
    -1
}

#[wasm_bindgen]
pub unsafe extern "C" fn embedding_backward(ids: *const i32, dy: *const f32, dtable: *mut f32, n: usize, d: usize, v: usize) -> i32 {
    if let Some(bad) = first_bad_id(ids, n, v) {
        return bad;
    }
    core::ptr::write_bytes(dtable, 0, v * d);
    for i in 0..n {
        crate::elementwise::add_in_place(dtable.add(*ids.add(i) as usize * d), dy.add(i * d), d);
    }
    -1
}

unsafe fn first_bad_id(ids: *const i32, n: usize, v: usize) -> Option<i32> {
    (0..n).find(|&i| {
        let id = *ids.add(i);
        id < 0 || id as usize >= v
    }).map(|i| i as i32)
}
