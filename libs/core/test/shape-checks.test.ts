import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/backend.ts';
import { createReferenceBackend } from '../src/backends/reference/reference-backend.ts';
import { createWasmBackend, type WasmBackend } from '../src/backends/wasm/wasm-backend.ts';

// The shape checks live once (backend/shape-checks.ts): the reference and WASM backends refuse the same bad input
// with the same message (the WebGPU backend calls the same functions; webgpu-kernels.test.ts covers it on a device).
const wasm: WasmBackend = await createWasmBackend(undefined, { threads: 1 });
afterAll(() => wasm.close());

function refusal(be: Backend, op: (be: Backend) => unknown): string {
  try {
    op(be);
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
}

const z = (be: Backend, shape: number[], dtype: 'f32' | 'i32' = 'f32') => be.zeros(shape, dtype);
const mask = (be: Backend, b: number, tq: number, tk: number) => ({
  querySegments: z(be, [b, tq], 'i32'),
  keySegments: z(be, [b, tk], 'i32'),
  prefixEnd: z(be, [b, tq], 'i32'),
});

const cases: [string, (be: Backend) => unknown, string][] = [
  ['add', (be) => be.add(z(be, [2, 3]), z(be, [3, 3])), 'add: shapes [2, 3] and [3, 3] differ'],
  ['mul', (be) => be.mul(z(be, [4]), z(be, [5])), 'mul: shapes [4] and [5] differ'],
  ['matmul', (be) => be.matmul(z(be, [2, 3]), z(be, [4, 5])), 'matmul: inner dimensions differ: a [2, 3] · b [4, 5]'],
  ['matmul transposed', (be) => be.matmul(z(be, [2, 3]), z(be, [2, 5]), false, true), 'matmul: inner dimensions differ: a [2, 3] · b [2, 5]ᵀ'],
  ['rope', (be) => be.rope(z(be, [1, 2, 1, 4]), z(be, [1, 3], 'i32'), 10000), 'rope: positions [1, 3] do not match x [1, 2, 1, 4]'],
  ['rope 2D', (be) => be.rope(z(be, [1, 2, 1, 6]), z(be, [1, 2], 'i32'), 10000, false, z(be, [1, 2], 'i32')), 'rope: 2D rotary needs a head size divisible by 4, got 6'],
  [
    'attention',
    (be) => be.attention(z(be, [1, 2, 3, 4]), z(be, [1, 2, 2, 4]), z(be, [1, 2, 2, 4]), mask(be, 1, 2, 2), { scale: 1 }),
    'attention: q [1, 2, 3, 4], k [1, 2, 2, 4], v [1, 2, 2, 4] do not fit',
  ],
  [
    'attention mask',
    (be) => be.attention(z(be, [1, 2, 2, 4]), z(be, [1, 2, 2, 4]), z(be, [1, 2, 2, 4]), mask(be, 1, 3, 2), { scale: 1 }),
    'attention: mask descriptors must be [1, 2] for queries and [1, 2] for keys',
  ],
];

describe('shape checks shared by the backends', () => {
  it.each(cases)('%s: the same refusal on the reference and WASM backends', (_, op, message) => {
    expect(refusal(createReferenceBackend(), op)).toBe(message);
    expect(refusal(wasm, op)).toBe(message);
  });
});
