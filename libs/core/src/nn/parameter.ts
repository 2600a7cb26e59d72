import type { Backend } from '../backend/backend.ts';
import type { Tensor } from '../backend/tensor.ts';

/**
 * A trainable tensor with its persistent gradient buffer. `decay` says whether AdamW's weight decay applies
 * (matrices and embeddings yes; norm gains and biases no, as in GPT-3 and LLaMA).
 */
export interface Parameter {
  readonly name: string;
  readonly value: Tensor;
  readonly grad: Tensor;
  readonly decay: boolean;
}

export function createParameter(backend: Backend, name: string, values: Float32Array, shape: readonly number[], decay: boolean): Parameter {
  return { name, value: backend.fromArray(values, shape), grad: backend.zeros(shape), decay };
}

export function parameterCount(params: readonly Parameter[]): number {
  return params.reduce((n, p) => n + p.value.size, 0);
}

export function disposeParameters(backend: Backend, params: readonly Parameter[]): void {
  for (const p of params) {
    backend.dispose(p.value);
    backend.dispose(p.grad);
  }
}
