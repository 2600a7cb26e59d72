import { flatWorkgroup, read, write, type KernelSpec } from '../kernel.ts';
import { reduceCall, workgroupReduce } from './reduce.ts';

/**
 * LayerNorm (Ba et al. 2016); kernels/layernorm.ts is the reference.
 *   x, y, dy, dx: [rows, D]; w, b, dw, db: [D]; mean, rstd: [rows] saved by the forward.
 * One workgroup per row, `wg` invocations striding over D; mean and variance in two passes as the reference does.
 *   forward:  y = (x − mean) · rstd · w + b
 *   backward: dx = rstd · (g − mean(g) − x̂ · mean(g·x̂)), g = dy·w, x̂ = (x − mean)·rstd;
 *             dw = Σ_rows dy·x̂ (column-sum.ts, 'layernorm'), db = Σ_rows dy (column-sum.ts, 'dy')
 */
export function layernormForward(wg: number, subgroups: boolean): KernelSpec {
  return {
    key: `layernorm_forward_${wg}${subgroups ? '_sg' : ''}`,
    params: [
      ['rows', 'u32'],
      ['d', 'u32'],
      ['eps', 'f32'],
    ],
    bindings: [read('x'), read('w'), read('b'), write('y'), write('mean'), write('rstd')],
    workgroupSize: [wg],
    subgroups,
    helpers: workgroupReduce(wg, subgroups),
    main: `  let r = ${flatWorkgroup};
  if (r >= P.rows) { return; }
  let o = r * P.d;
  var sum = 0.0;
  for (var j = lid; j < P.d; j = j + ${wg}u) { sum = sum + x[o + j]; }
  let mu = ${reduceCall('add', 'sum', subgroups)} / f32(P.d);
  var sq = 0.0;
  for (var j = lid; j < P.d; j = j + ${wg}u) { let c = x[o + j] - mu; sq = sq + c * c; }
  let s = 1.0 / sqrt(${reduceCall('add', 'sq', subgroups)} / f32(P.d) + P.eps);
  if (lid == 0u) { mean[r] = mu; rstd[r] = s; }
  for (var j = lid; j < P.d; j = j + ${wg}u) { y[o + j] = (x[o + j] - mu) * s * w[j] + b[j]; }`,
  };
}

export function layernormBackward(wg: number, subgroups: boolean): KernelSpec {
  return {
    key: `layernorm_backward_${wg}${subgroups ? '_sg' : ''}`,
    params: [
      ['rows', 'u32'],
      ['d', 'u32'],
    ],
    bindings: [read('dy'), read('x'), read('w'), read('mean'), read('rstd'), write('dx')],
    workgroupSize: [wg],
    subgroups,
    helpers: workgroupReduce(wg, subgroups),
    main: `  let r = ${flatWorkgroup};
  if (r >= P.rows) { return; }
  let o = r * P.d;
  let mu = mean[r];
  let s = rstd[r];
  var gs = 0.0;
  var gx = 0.0;
  for (var j = lid; j < P.d; j = j + ${wg}u) {
    let g = dy[o + j] * w[j];
    gs = gs + g;
    gx = gx + g * (x[o + j] - mu) * s;
  }
  let gMean = ${reduceCall('add', 'gs', subgroups)} / f32(P.d);
  let gxMean = ${reduceCall('add', 'gx', subgroups)} / f32(P.d);
  for (var j = lid; j < P.d; j = j + ${wg}u) {
    let xhat = (x[o + j] - mu) * s;
    dx[o + j] = s * (dy[o + j] * w[j] - gMean - xhat * gxMean);
  }`,
  };
}
