import { read, write, type BindingSpec, type KernelSpec } from '../kernel.ts';

/**
 * Sums over rows of a per-element term, out[j] = Σ_r term(r, j), for r < rows, j < cols. The parameter gradients
 * of bias and norm gains are such sums:
 *   'dy'       term = dy[r, j]                                  (bias: dbias; layernorm: dbias)
 *   'rmsnorm'  term = dy[r, j] · x[r, j] · rstd[r]              (rmsnorm: dweight)
 *   'layernorm' term = dy[r, j] · (x[r, j] − mean[r]) · rstd[r] (layernorm: dweight)
 * Two stages keep every GPU core busy however many rows there are: `columnSumPartial` sums chunks of
 * COLUMN_CHUNK rows, one invocation per (chunk, column), with consecutive invocations on consecutive columns;
 * `columnSumFinal` adds the chunks' partial sums per column. With one chunk the partial stage writes `out` itself.
 */
export type ColumnTerm = 'dy' | 'rmsnorm' | 'layernorm';

export const COLUMN_CHUNK = 256;

const inputs: Record<ColumnTerm, BindingSpec[]> = {
  dy: [read('dy')],
  rmsnorm: [read('dy'), read('x'), read('rstd')],
  layernorm: [read('dy'), read('x'), read('mean'), read('rstd')],
};

const term: Record<ColumnTerm, string> = {
  dy: 'dy[e]',
  rmsnorm: 'dy[e] * x[e] * rstd[r]',
  layernorm: 'dy[e] * (x[e] - mean[r]) * rstd[r]',
};

/** Grid: (ceil(cols / 256), chunks); out: [chunks, cols]. */
export function columnSumPartial(t: ColumnTerm): KernelSpec {
  return {
    key: `column_sum_partial_${t}`,
    params: [
      ['rows', 'u32'],
      ['cols', 'u32'],
    ],
    bindings: [...inputs[t], write('out')],
    workgroupSize: [256],
    main: `  let j = wid.x * 256u + lid;
  if (j >= P.cols) { return; }
  let r0 = wid.y * ${COLUMN_CHUNK}u;
  let r1 = min(r0 + ${COLUMN_CHUNK}u, P.rows);
  var s = 0.0;
  for (var r = r0; r < r1; r = r + 1u) {
    let e = r * P.cols + j;
    s = s + ${term[t]};
  }
  out[wid.y * P.cols + j] = s;`,
  };
}

/** Grid: ceil(cols / 256); partial: [chunks, cols] -> out: [cols]. */
export const columnSumFinal: KernelSpec = {
  key: 'column_sum_final',
  params: [
    ['chunks', 'u32'],
    ['cols', 'u32'],
  ],
  bindings: [read('partial'), write('out')],
  workgroupSize: [256],
  main: `  let j = wid.x * 256u + lid;
  if (j >= P.cols) { return; }
  var s = 0.0;
  for (var c = 0u; c < P.chunks; c = c + 1u) { s = s + partial[c * P.cols + j]; }
  out[j] = s;`,
};
