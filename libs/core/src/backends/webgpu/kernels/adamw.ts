import { FLAT, flatIndex, read, write, type KernelSpec } from '../kernel.ts';
import { reduceCall, workgroupReduce } from './reduce.ts';

/**
 * The optimizer step; kernels/adamw.ts is the reference. All tensors flat [n].
 *   sumOfSquares: Σ x² over a list of tensors -> [1]. Each tensor adds up to SUMSQ_GROUPS workgroup partial sums
 *     (sumSquaresPartial, each workgroup striding over the tensor) into one partials buffer; sumSquaresFinal adds
 *     them (one workgroup).
 *   clip: x *= min(1, maxNorm / (‖g‖ + 1e-6)) with ‖g‖ = sqrt(sumSquares[0]) read on the device (Pascanu et al. 2013).
 *   AdamW (Loshchilov & Hutter 2019): p = p·(1 − lr·wd) − lr·m̂ / (sqrt(v̂) + eps), m̂ = m/bc1, v̂ = v/bc2, with
 *     m = β1·m + (1−β1)·g and v = β2·v + (1−β2)·g². The host computes decay, bc1, bc2 in float64.
 */
export const SUMSQ_GROUPS = 256;
const WG = 256;

export function sumSquaresPartial(subgroups: boolean): KernelSpec {
  return {
    key: `sum_squares_partial${subgroups ? '_sg' : ''}`,
    params: [
      ['n', 'u32'],
      ['offset', 'u32'],
    ],
    bindings: [read('x'), write('partial')],
    workgroupSize: [WG],
    subgroups,
    helpers: workgroupReduce(WG, subgroups),
    main: `  var s = 0.0;
  for (var i = wid.x * ${WG}u + lid; i < P.n; i = i + nwg.x * ${WG}u) { s = s + x[i] * x[i]; }
  let total = ${reduceCall('add', 's', subgroups)};
  if (lid == 0u) { partial[P.offset + wid.x] = total; }`,
  };
}

export function sumSquaresFinal(subgroups: boolean): KernelSpec {
  return {
    key: `sum_squares_final${subgroups ? '_sg' : ''}`,
    params: [['n', 'u32']],
    bindings: [read('partial'), write('out')],
    workgroupSize: [WG],
    subgroups,
    helpers: workgroupReduce(WG, subgroups),
    main: `  var s = 0.0;
  for (var i = lid; i < P.n; i = i + ${WG}u) { s = s + partial[i]; }
  let total = ${reduceCall('add', 's', subgroups)};
  if (lid == 0u) { out[0] = total; }`,
  };
}

export const clipByNorm: KernelSpec = {
  key: 'clip_by_norm',
  params: [
    ['n', 'u32'],
    ['maxNorm', 'f32'],
  ],
  bindings: [write('x'), read('sumSquares')],
  workgroupSize: [FLAT],
  main: `  let i = ${flatIndex};
  if (i >= P.n) { return; }
  let norm = sqrt(sumSquares[0]);
  if (norm > P.maxNorm) { x[i] = x[i] * (P.maxNorm / (norm + 1e-6)); }`,
};

export const adamw: KernelSpec = {
  key: 'adamw',
  params: [
    ['n', 'u32'],
    ['lr', 'f32'],
    ['beta1', 'f32'],
    ['beta2', 'f32'],
    ['eps', 'f32'],
    ['decay', 'f32'],
    ['bc1', 'f32'],
    ['bc2', 'f32'],
  ],
  bindings: [write('p'), read('g'), write('m'), write('v')],
  workgroupSize: [FLAT],
  main: `  let i = ${flatIndex};
  if (i >= P.n) { return; }
  let gi = g[i];
  let mi = P.beta1 * m[i] + (1.0 - P.beta1) * gi;
  let vi = P.beta2 * v[i] + (1.0 - P.beta2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = p[i] * P.decay - (P.lr * (mi / P.bc1)) / (sqrt(vi / P.bc2) + P.eps);`,
};
