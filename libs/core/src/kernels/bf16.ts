import type { FloatArray } from './types.ts';

/**
 * bfloat16 rounding, the reference for the WASM kernels' mixed precision (kernels-rs/src/matmul.rs, `round_to_bf16`).
 *
 * bf16 is the top half of an f32: sign, the same 8 exponent bits (so the same range, and no loss scaling is needed,
 * unlike fp16: Kalamkar et al. 2019, "A Study of BFLOAT16 for Deep Learning Training") and 7 significand bits (a
 * relative spacing of 2^-8, rounding error at most 2^-9). A value is rounded to the nearest bf16, ties to even; the
 * largest finite f32 values round to ±inf; a NaN stays a NaN (quiet bit set). The product of two bf16 values is exact
 * in f32 (8 + 8 significand bits ≤ 24), so a matmul on rounded operands with f32 sums is what a bf16 dot product with
 * f32 accumulation computes, up to the order of the sums.
 */
const word = new Uint32Array(1);
const float = new Float32Array(word.buffer);

/** The bf16 nearest to `x` (after rounding `x` to f32), as a number. */
export function bf16Round(x: number): number {
  float[0] = x;
  const bits = word[0];
  if (Number.isNaN(x)) word[0] = (bits | 0x0040_0000) & 0xffff_0000;
  else word[0] = ((bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff_0000) >>> 0;
  return float[0];
}

/** A copy of `x` with every value rounded to bf16. */
export function roundToBf16(x: FloatArray): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = bf16Round(x[i]);
  return out;
}
