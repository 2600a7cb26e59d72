import type { FloatArray } from './types.ts';

/**
 * C[m, n] (+)= op(A) · op(B), row-major.
 *   op(A) is [m, k]: A is stored [m, k], or [k, m] when transA.
 *   op(B) is [k, n]: B is stored [k, n], or [n, k] when transB.
 * Forward of a linear layer y = x·W is (NN); its backward products are dx = dy·Wᵀ (NT) and dW = xᵀ·dy (TN).
 * Plain loops: this is the oracle the WASM and WGSL kernels are checked against.
 */
export function matmulForward(
  a: FloatArray,
  b: FloatArray,
  c: FloatArray,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): void {
  if (!accumulate) c.fill(0, 0, m * n);
  for (let i = 0; i < m; i++) {
    const cRow = i * n;
    for (let p = 0; p < k; p++) {
      const aip = transA ? a[p * m + i] : a[i * k + p];
      if (aip === 0) continue;
      if (transB) {
        for (let j = 0; j < n; j++) c[cRow + j] += aip * b[j * k + p];
      } else {
        const bRow = p * n;
        for (let j = 0; j < n; j++) c[cRow + j] += aip * b[bRow + j];
      }
    }
  }
}

/** Bias: y[r, j] = x[r, j] + bias[j]; its backward sums dy over rows. */
export function addBiasForward(x: FloatArray, bias: FloatArray, y: FloatArray, rows: number, n: number): void {
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) y[r * n + j] = x[r * n + j] + bias[j];
}

export function addBiasBackward(dy: FloatArray, dbias: FloatArray, rows: number, n: number): void {
  dbias.fill(0, 0, n);
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) dbias[j] += dy[r * n + j];
}
