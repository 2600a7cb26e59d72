import type { Backend, Parameter, Rng } from '@unilab/core';
import { createParameter } from '@unilab/core';

/** Parameter initialisers (GPT-2 / LLaMA conventions): normal(0, std) matrices, ones for norm gains. */
export function normalParameter(backend: Backend, rng: Rng, name: string, shape: number[], std: number): Parameter {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.normal() * std;
  return createParameter(backend, name, values, shape, true);
}

export function onesParameter(backend: Backend, name: string, size: number): Parameter {
  return createParameter(backend, name, new Float32Array(size).fill(1), [size], false);
}
