import type { FloatArray } from './types.ts';

/** Residual add c = a + b and its in-place twin dst += src (the backward of a residual sends dy to both inputs). */
export function addForward(a: FloatArray, b: FloatArray, c: FloatArray, size: number): void {
  for (let i = 0; i < size; i++) c[i] = a[i] + b[i];
}

export function addInPlace(dst: FloatArray, src: FloatArray, size: number): void {
  for (let i = 0; i < size; i++) dst[i] += src[i];
}

/** c = a ⊙ b; its backward is two more products: da = dy ⊙ b, db = dy ⊙ a. */
export function mulForward(a: FloatArray, b: FloatArray, c: FloatArray, size: number): void {
  for (let i = 0; i < size; i++) c[i] = a[i] * b[i];
}

export function scaleForward(x: FloatArray, y: FloatArray, s: number, size: number): void {
  for (let i = 0; i < size; i++) y[i] = x[i] * s;
}
