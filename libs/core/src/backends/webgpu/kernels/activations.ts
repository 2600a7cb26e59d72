import { FLAT, flatIndex, read, write, type KernelSpec } from '../kernel.ts';

/**
 * Pointwise activations and their backward, all over flat [N] arrays (kernels/activations.ts is the reference).
 *   SwiGLU (Shazeer 2020):  y = silu(g)·u, silu(g) = g·σ(g);  du = dy·silu(g),  dg = dy·u·σ(g)·(1 + g·(1 − σ(g)))
 *   GELU, tanh form (Hendrycks & Gimpel 2016):  y = ½x(1 + tanh(c(x + 0.044715x³))), c = √(2/π)
 *   ReLU:  y = max(0, x);  dx = dy where x > 0
 */
const flat = (key: string, bindings: KernelSpec['bindings'], body: string, helpers = ''): KernelSpec => ({
  key,
  params: [['n', 'u32']],
  bindings,
  workgroupSize: [FLAT],
  helpers,
  main: `  let i = ${flatIndex};\n  if (i >= P.n) { return; }\n${body}`,
});

const sigmoid = `
fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }`;

export const swigluForward = flat(
  'swiglu_forward',
  [read('gate'), read('up'), write('y')],
  `  let g = gate[i];
  y[i] = g * sigmoid(g) * up[i];`,
  sigmoid,
);

export const swigluBackward = flat(
  'swiglu_backward',
  [read('dy'), read('gate'), read('up'), write('dgate'), write('dup')],
  `  let g = gate[i];
  let s = sigmoid(g);
  dup[i] = dy[i] * g * s;
  dgate[i] = dy[i] * up[i] * s * (1.0 + g * (1.0 - s));`,
  sigmoid,
);

// tanh of a large argument overflows exp inside some drivers' tanh; beyond |u| = 15 tanh is ±1 in f32 anyway.
const geluCore = `
const GELU_C: f32 = 0.7978845608028654;
fn tanh_safe(u: f32) -> f32 { return tanh(clamp(u, -15.0, 15.0)); }`;

export const geluForward = flat(
  'gelu_forward',
  [read('x'), write('y')],
  `  let v = x[i];
  y[i] = 0.5 * v * (1.0 + tanh_safe(GELU_C * (v + 0.044715 * v * v * v)));`,
  geluCore,
);

export const geluBackward = flat(
  'gelu_backward',
  [read('dy'), read('x'), write('dx')],
  `  let v = x[i];
  let t = tanh_safe(GELU_C * (v + 0.044715 * v * v * v));
  let du = GELU_C * (1.0 + 3.0 * 0.044715 * v * v);
  dx[i] = dy[i] * (0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du);`,
  geluCore,
);

export const reluForward = flat('relu_forward', [read('x'), write('y')], '  y[i] = select(0.0, x[i], x[i] > 0.0);');

export const reluBackward = flat('relu_backward', [read('dy'), read('x'), write('dx')], '  dx[i] = select(0.0, dy[i], x[i] > 0.0);');
