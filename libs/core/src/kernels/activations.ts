import type { FloatArray } from './types.ts';

/**
 * SwiGLU (Shazeer 2020, as in LLaMA): y = silu(gate) * up, silu(g) = g * sigmoid(g). All arrays [N * F].
 */
export function swigluForward(gate: FloatArray, up: FloatArray, y: FloatArray, size: number): void {
  for (let i = 0; i < size; i++) {
    const g = gate[i];
    y[i] = (g / (1 + Math.exp(-g))) * up[i];
  }
}

/** d silu(g)/dg = sig(g) * (1 + g * (1 - sig(g))). */
export function swigluBackward(dy: FloatArray, gate: FloatArray, up: FloatArray, dgate: FloatArray, dup: FloatArray, size: number): void {
  for (let i = 0; i < size; i++) {
    const g = gate[i];
    const sig = 1 / (1 + Math.exp(-g));
    dup[i] = dy[i] * g * sig;
    dgate[i] = dy[i] * up[i] * sig * (1 + g * (1 - sig));
  }
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (Hendrycks & Gimpel 2016; GPT-2): 0.5 x (1 + tanh(c (x + 0.044715 x³))). */
export function geluForward(x: FloatArray, y: FloatArray, size: number): void {
  for (let i = 0; i < size; i++) {
    const v = x[i];
    y[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v)));
  }
}

export function geluBackward(dy: FloatArray, x: FloatArray, dx: FloatArray, size: number): void {
  for (let i = 0; i < size; i++) {
    const v = x[i];
    const u = GELU_C * (v + 0.044715 * v * v * v);
    const t = Math.tanh(u);
    const du = GELU_C * (1 + 3 * 0.044715 * v * v);
    dx[i] = dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du);
  }
}

/** ReLU (Vaswani et al. 2017, the original Transformer's FFN): y = max(0, x); dy passes where x > 0. */
export function reluForward(x: FloatArray, y: FloatArray, size: number): void {
  for (let i = 0; i < size; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

export function reluBackward(dy: FloatArray, x: FloatArray, dx: FloatArray, size: number): void {
  for (let i = 0; i < size; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
}
