//! unilab compute kernels, compiled to `wasm32-unknown-unknown` with SIMD128
//! (and a second build with relaxed-SIMD FMA, feature `relaxed`).
//!
//! One file per op, each stating its shapes and memory layout at the top with
//! the forward and the backward side by side:
//!
//! | file               | op                                                        |
//! |--------------------|-----------------------------------------------------------|
//! | `matmul.rs`        | C = op(A)·op(B): linear forward and both backward products |
//! | `fused.rs`         | matmul + residual add, gate/up matmuls + SwiGLU (epilogues) |
//! | `bias.rs`          | bias add and its gradient (sum over rows)                  |
//! | `embedding.rs`     | gather and scatter-add                                     |
//! | `rmsnorm.rs`       | RMSNorm                                                    |
//! | `layernorm.rs`     | LayerNorm                                                  |
//! | `swiglu.rs`        | SwiGLU                                                     |
//! | `gelu.rs`          | GELU (tanh)                                                |
//! | `relu.rs`          | ReLU                                                       |
//! | `dropout.rs`       | inverted dropout with a stateless hashed mask              |
//! | `rope.rs`          | rotary position embedding, 1D and 2D (its own inverse)     |
//! | `attention.rs`     | flash-style attention over mask descriptors, bias, GQA     |
//! | `cross_entropy.rs` | fused softmax cross-entropy with a loss mask               |
//! | `elementwise.rs`   | residual add, accumulate, multiply, scale, fill            |
//! | `adamw.rs`         | AdamW update                                               |
//! | `grad_norm.rs`     | sum of squares and global-norm clipping                    |
//! | `debug.rs`         | non-finite check of the debug mode                         |
//! | `minhash.rs`       | MinHash signature of a text's word shingles (dedup)        |
//!
//! and the machinery: `memory.rs` (allocator), `pool.rs` (work sharing between
//! threads), `map.rs` (elementwise kernels in blocks for the pool), `simd.rs` (FMA, exp, tanh), `math.rs` (scalar f64 ln, exp, sin, cos).
//!
//! Exports: `#[wasm_bindgen]` functions of numbers only (wasm-pack builds the
//! crate; libs/core calls them through wasm-bindgen's glue); every tensor is a
//! byte offset into the imported shared linear memory (`usize` = wasm `i32`),
//! dense, row-major, f32 or i32. Outputs never overlap inputs unless a kernel says so. Kernels keep no
//! state: scratch space comes in as a workspace pointer, so several workers can run
//! kernels on the same memory at once (each with its own workspace and stack).

#![no_std]

pub mod adamw;
pub mod attention;
pub mod bias;
pub mod cross_entropy;
pub mod debug;
pub mod dropout;
pub mod elementwise;
pub mod embedding;
pub mod fused;
pub mod gelu;
pub mod grad_norm;
pub mod layernorm;
pub mod map;
pub mod math;
pub mod matmul;
pub mod memory;
pub mod minhash;
pub mod pool;
pub mod relu;
pub mod rmsnorm;
pub mod rope;
pub mod simd;
pub mod swiglu;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // No formatting machinery (keeps the module small and free of file paths).
    core::arch::wasm32::unreachable()
}
