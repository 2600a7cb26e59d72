#!/usr/bin/env bash
# Can the kernels use relaxed SIMD's bf16 dot product yet? Builds a one-function probe crate that emits
# `f32x4.relaxed_dot_bf16x8_add_f32` (opcode 0xfd 0x114) with the kernels' toolchain, checks the opcode is in the
# output, and asks Node (with the relaxed-SIMD flag, as the loader sets it) and Deno whether they validate it.
#
# How the instruction is emitted: Rust's core::arch::wasm32 has no intrinsic for it (its relaxed-SIMD set stops at
# the i8 dot products), but LLVM has one, `llvm.wasm.relaxed.dot.bf16x8.add.f32` (<8 x i16>, <8 x i16>,
# <4 x float>) -> <4 x float>. A crate may bind an LLVM intrinsic by name with the unstable `link_llvm_intrinsics`
# feature, passing `#[repr(simd)]` vectors (`repr_simd`, and `simd_ffi` to pass them to an extern); on Debian's
# stable rustc that needs RUSTC_BOOTSTRAP=1, which the kernel build sets anyway for build-std. The same declaration
# would go into kernels-rs/src/simd.rs behind a cargo feature once an engine validates the instruction; while none
# does, a module holding it would fail validation as a whole and the loader would fall back to the SIMD128 build,
# so the shipped kernels do not use it.
#
# Checked 2026-12-03: rustc 1.96 emits it (fd 94 02); Node 20.20 (V8 11.3) and Deno 2.9.6 (V8 15.0) both reject it
# ("invalid simd opcode"): V8's relaxed-SIMD opcode table ends at 0xfd 0x113 (i32x4.dot_i8x16_i7x16_add_s).
#
# Usage: scripts/probe-bf16-dot.sh   (toolchain: scripts/install-rust-wasm.sh; ~40 s the first time, for `core`)
# Environment: CARGO_TARGET_DIR (default kernels-rs/target/probe-bf16-dot).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/kernels-rs/target/probe-bf16-dot}"
CRATE="$(mktemp -d "${TMPDIR:-/tmp}/probe-bf16-dot.XXXXXX")"
trap 'rm -rf "$CRATE"' EXIT
for tool in /usr/bin/rustc /usr/bin/cargo; do
  [ -x "$tool" ] || { echo "probe-bf16-dot: $tool not found; run scripts/install-rust-wasm.sh" >&2; exit 1; }
done

mkdir -p "$CRATE/src" "$CRATE/.cargo"
cat >"$CRATE/Cargo.toml" <<'EOF'
[package]
name = "probe-bf16-dot"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib"]

[profile.release]
opt-level = 3
panic = "abort"
debug = false
EOF
cat >"$CRATE/.cargo/config.toml" <<'EOF'
[unstable]
build-std = ["core"]

[build]
target = "wasm32-unknown-unknown"

[target.wasm32-unknown-unknown]
linker = "wasm-ld"
rustflags = ["-C", "target-feature=+simd128,+relaxed-simd"]
EOF
cat >"$CRATE/src/lib.rs" <<'EOF'
//! `f32x4.relaxed_dot_bf16x8_add_f32` through LLVM's intrinsic (see scripts/probe-bf16-dot.sh).
#![no_std]
#![allow(internal_features)]
#![feature(link_llvm_intrinsics, repr_simd, simd_ffi)]

use core::arch::wasm32::v128;
use core::mem::transmute;

#[repr(simd)]
#[derive(Copy, Clone)]
struct I16x8([i16; 8]);
#[repr(simd)]
#[derive(Copy, Clone)]
struct F32x4([f32; 4]);

#[allow(improper_ctypes)]
unsafe extern "C" {
    #[link_name = "llvm.wasm.relaxed.dot.bf16x8.add.f32"]
    fn llvm_dot_bf16x8_add_f32(a: I16x8, b: I16x8, c: F32x4) -> F32x4;
}

/// c[i] + a[2i]·b[2i] + a[2i+1]·b[2i+1], with a and b eight bf16 each (relaxed: fused or not, per engine).
#[inline(always)]
pub fn f32x4_relaxed_dot_bf16x8_add(a: v128, b: v128, c: v128) -> v128 {
    unsafe { transmute(llvm_dot_bf16x8_add_f32(transmute(a), transmute(b), transmute(c))) }
}

#[no_mangle]
pub unsafe extern "C" fn dot(a: *const v128, b: *const v128, c: *mut v128) {
    *c = f32x4_relaxed_dot_bf16x8_add(*a, *b, *c);
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
EOF

unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET RUSTUP_TOOLCHAIN
(cd "$CRATE" && RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --quiet --target-dir "$TARGET_DIR")
WASM="$TARGET_DIR/wasm32-unknown-unknown/release/probe_bf16_dot.wasm"
if ! od -An -v -tx1 "$WASM" | tr -d ' \n' | grep -q 'fd9402'; then
  echo "probe-bf16-dot: the build did not emit f32x4.relaxed_dot_bf16x8_add_f32 (fd 94 02)" >&2
  exit 1
fi
echo "probe-bf16-dot: $(/usr/bin/rustc --version) emits f32x4.relaxed_dot_bf16x8_add_f32 (fd 94 02) in $(wc -c <"$WASM") bytes"

CHECK='const bytes = new Uint8Array(await (await import("node:fs/promises")).readFile(process.argv.at(-1) ?? Deno.args[0]));
let why = "validates";
try { new WebAssembly.Module(bytes); } catch (e) { why = "rejects it: " + e.message; }
console.log(why);'
echo "  node $(node --version): $(node --experimental-wasm-relaxed-simd --input-type=module -e "$CHECK" "$WASM")"
DENO="$ROOT/node_modules/.bin/deno"
if [ -x "$DENO" ]; then
  printf '%s\n' "$CHECK" >"$CRATE/check.mjs"
  echo "  $("$DENO" --version | head -1): $("$DENO" run --allow-read "$CRATE/check.mjs" "$WASM")"
fi
