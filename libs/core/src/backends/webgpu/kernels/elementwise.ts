import { FLAT, flatIndex, read, write, type KernelSpec } from '../kernel.ts';

/**
 * Elementwise kernels over flat tensors of n elements (one invocation per element, `grid` layout).
 *   fill:     out[i] = 0 (any 32-bit dtype)            add:        c[i] = a[i] + b[i]
 *   mul:      c[i] = a[i] * b[i] (backward: two more mul: da = dy * b, db = dy * a)
 *   addInto:  dst[i] += src[i] (gradient accumulation) scale:      y[i] = x[i] * s
 *   scaleBy:  y[i] = x[i] * s[0], s read on the device (the loss seed; no readback)
 *   addBias:  y[r, j] = x[r, j] + bias[j], x: [rows, n]; its backward is the column sum in column-sum.ts.
 * The residual add's backward hands dy to both inputs, so it needs no kernel of its own.
 */
const flat = (key: string, params: KernelSpec['params'], bindings: KernelSpec['bindings'], body: string): KernelSpec => ({
  key,
  params: [['n', 'u32'], ...params],
  bindings,
  workgroupSize: [FLAT],
  main: `  let i = ${flatIndex};\n  if (i >= P.n) { return; }\n  ${body}`,
});

export const fillZero = flat('fill_zero', [], [write('out', 'u32')], 'out[i] = 0u;');
export const add = flat('add', [], [read('a'), read('b'), write('c')], 'c[i] = a[i] + b[i];');
export const mul = flat('mul', [], [read('a'), read('b'), write('c')], 'c[i] = a[i] * b[i];');
export const addInto = flat('add_into', [], [write('dst'), read('src')], 'dst[i] = dst[i] + src[i];');
export const scale = flat('scale', [['s', 'f32']], [read('x'), write('y')], 'y[i] = x[i] * P.s;');
export const scaleBy = flat('scale_by', [], [read('x'), read('s'), write('y')], 'y[i] = x[i] * s[0];');
export const addBias = flat('add_bias', [['cols', 'u32']], [read('x'), read('bias'), write('y')], 'y[i] = x[i] + bias[i % P.cols];');
