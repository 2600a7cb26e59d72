//! unilab compute kernels, compiled to `wasm32-unknown-unknown` with SIMD128.
//!
//! Layout of the crate: one file per op (`matmul.rs`, ...), each stating its
//! shapes and memory layout at the top with forward and backward side by side,
//! plus `memory.rs` (allocator and `alloc_*`/`free_*` exports).
//!
//! ABI: every kernel takes byte offsets into the instance's linear memory
//! (`usize` = wasm `i32`) for its tensors, so JavaScript passes pointers it got
//! from `alloc_f32`/`alloc_i32` and nothing is copied per call. Tensors are
//! dense, row-major, f32 (or i32). Output buffers must not overlap inputs.
//!
//! The kernels use static scratch buffers, so one instance must not run two
//! kernels at the same time (one instance per thread / worker).
//!
//! On wasm32 the crate is `#![no_std]` with its own allocator (`memory.rs`);
//! on the host it builds with std so `cargo test` can check the algorithms
//! (with a scalar micro-kernel in place of the SIMD128 one).

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod matmul;
pub mod memory;

#[cfg(target_arch = "wasm32")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // No formatting machinery (keeps the module small and free of file paths).
    core::arch::wasm32::unreachable()
}
