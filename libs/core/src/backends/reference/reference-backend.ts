import { ArrayBackend } from '../array-backend.ts';
import { heapStorage } from '../array-storage.ts';

/**
 * The reference backend: plain TypeScript loops over JavaScript arrays, the oracle every other backend is checked
 * against. `precision: 'f64'` stores floats in Float64Array for finite-difference gradient checks.
 */
export function createReferenceBackend(options: { precision?: 'f32' | 'f64' } = {}): ArrayBackend<Float32Array | Float64Array | Int32Array> {
  return new ArrayBackend(heapStorage(options.precision ?? 'f32'));
}
