import { flatWorkgroup, read, write, type KernelSpec } from '../kernel.ts';
import { reduceCall, workgroupReduce } from './reduce.ts';

/**
 * RMSNorm (Zhang & Sennrich 2019); kernels/rmsnorm.ts is the reference.
 *   x, y, dy, dx: [rows, D]; w, dw: [D]; rstd: [rows] = 1 / sqrt(mean(x²) + eps), saved by the forward.
 * One workgroup per row (`grid` layout over rows), `wg` invocations striding over D.
 *   forward:  y = x · rstd · w
 *   backward: dx = rstd · (dy·w − x·rstd · mean(dy·w·x·rstd));  dw = Σ_rows dy · x · rstd (column-sum.ts, 'rmsnorm')
 */
export function rowWorkgroupSize(d: number): number {
  return d >= 1024 ? 256 : 64;
}

export function rmsnormForward(wg: number, subgroups: boolean): KernelSpec {
  return {
    key: `rmsnorm_forward_${wg}${subgroups ? '_sg' : ''}`,
    params: [
      ['rows', 'u32'],
      ['d', 'u32'],
      ['eps', 'f32'],
    ],
    bindings: [read('x'), read('w'), write('y'), write('rstd')],
    workgroupSize: [wg],
    subgroups,
    helpers: workgroupReduce(wg, subgroups),
    main: `  let r = ${flatWorkgroup};
  if (r >= P.rows) { return; }
  let o = r * P.d;
  var ss = 0.0;
  for (var j = lid; j < P.d; j = j + ${wg}u) { ss = ss + x[o + j] * x[o + j]; }
  let s = 1.0 / sqrt(${reduceCall('add', 'ss', subgroups)} / f32(P.d) + P.eps);
  if (lid == 0u) { rstd[r] = s; }
  for (var j = lid; j < P.d; j = j + ${wg}u) { y[o + j] = x[o + j] * s * w[j]; }`,
  };
}

export function rmsnormBackward(wg: number, subgroups: boolean): KernelSpec {
  return {
    key: `rmsnorm_backward_${wg}${subgroups ? '_sg' : ''}`,
    params: [
      ['rows', 'u32'],
      ['d', 'u32'],
    ],
    bindings: [read('dy'), read('x'), read('w'), read('rstd'), write('dx')],
    workgroupSize: [wg],
    subgroups,
    helpers: workgroupReduce(wg, subgroups),
    main: `  let r = ${flatWorkgroup};
  if (r >= P.rows) { return; }
  let o = r * P.d;
  let s = rstd[r];
  var dot = 0.0;
  for (var j = lid; j < P.d; j = j + ${wg}u) { dot = dot + dy[o + j] * w[j] * x[o + j] * s; }
  let m = ${reduceCall('add', 'dot', subgroups)} / f32(P.d);
  for (var j = lid; j < P.d; j = j + ${wg}u) { dx[o + j] = s * (dy[o + j] * w[j] - x[o + j] * s * m); }`,
  };
}
