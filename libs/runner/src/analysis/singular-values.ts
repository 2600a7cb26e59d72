/**
 * Singular values of a small dense matrix by one-sided Jacobi (Hestenes 1958; Demmel & Veselić 1992): rotate pairs of
 * columns until every pair is orthogonal; the column norms are then the singular values. It works on the matrix
 * itself, not on AᵀA, so singular values far below √ε · σ_max keep their relative accuracy, which is what a numerical
 * rank of an attention matrix (entries from softmax, many of them tiny) needs. O(n³) per sweep; n ≤ a few hundred.
 *
 * `a` is row-major [rows, cols] in float64 and is overwritten. Returns the singular values in decreasing order.
 */
export function singularValues(a: Float64Array, rows: number, cols: number, maxSweeps = 60): Float64Array {
  const column = (j: number, k: number) => {
    let alpha = 0;
    let beta = 0;
    let gamma = 0;
    for (let i = 0; i < rows; i++) {
      const x = a[i * cols + j];
      const y = a[i * cols + k];
      alpha += x * x;
      beta += y * y;
      gamma += x * y;
    }
    return { alpha, beta, gamma };
  };
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let rotated = false;
    for (let j = 0; j < cols - 1; j++)
      for (let k = j + 1; k < cols; k++) {
        const { alpha, beta, gamma } = column(j, k);
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < rows; i++) {
          const x = a[i * cols + j];
          const y = a[i * cols + k];
          a[i * cols + j] = c * x - s * y;
          a[i * cols + k] = s * x + c * y;
        }
      }
    if (!rotated) break;
  }
  const values = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    let n = 0;
    for (let i = 0; i < rows; i++) n += a[i * cols + j] ** 2;
    values[j] = Math.sqrt(n);
  }
  return values.sort().reverse();
}

/** How many singular values exceed `tolerance` · σ_max (the numerical rank at that relative tolerance). */
export function numericalRank(values: Float64Array, tolerance: number): number {
  const top = values[0] ?? 0;
  let rank = 0;
  for (const v of values) if (v > tolerance * top) rank++;
  return rank;
}

/** Roy & Vetterli (2007)'s effective rank: exp of the entropy of the normalised singular values (1 ≤ erank ≤ n). */
export function effectiveRank(values: Float64Array): number {
  const total = values.reduce((s, v) => s + v, 0);
  if (!(total > 0)) return 0;
  let entropy = 0;
  for (const v of values) if (v > 0) entropy -= (v / total) * Math.log(v / total);
  return Math.exp(entropy);
}
