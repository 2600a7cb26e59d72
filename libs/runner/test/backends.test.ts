import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBackend } from '../src/backends.ts';
import { parseTrainingSpec } from '../src/spec.ts';

afterEach(() => vi.unstubAllEnvs());

const precisionOf = (backend: unknown) => (backend as { precision: string }).precision;
const close = (backend: unknown) => (backend as { close(): void }).close();

describe('spec.precision', () => {
  it('defaults to f32, and bf16-matmul is refused at spec.precision for a backend other than wasm', () => {
    expect(parseTrainingSpec({}).precision).toBe('f32');
    expect(parseTrainingSpec({ precision: 'bf16-matmul' }).precision).toBe('bf16-matmul');
    expect(() => parseTrainingSpec({ backend: 'reference', precision: 'bf16-matmul' })).toThrow(
      'spec.precision: bf16-matmul is the wasm backend\'s mode; backend "reference" computes in f32 (use backend "wasm" or precision "f32")',
    );
    expect(() => parseTrainingSpec({ backend: 'webgpu', precision: 'bf16-matmul' })).toThrow(/^spec\.precision: .*backend "webgpu"/);
    expect(() => parseTrainingSpec({ precision: 'fp8' })).toThrow('spec.precision: expected one of "f32", "bf16-matmul", got "fp8"');
  });
});

describe('createBackend in the spec\'s precision', () => {
  it('builds the wasm backend in the precision asked for, whatever UNILAB_PRECISION would default it to', async () => {
    const bf16 = await createBackend('wasm', 'bf16-matmul');
    expect(precisionOf(bf16)).toBe('bf16-matmul');
    close(bf16);
    const f32 = await createBackend('wasm');
    expect(precisionOf(f32)).toBe('f32');
    close(f32);
    await expect(createBackend('reference', 'bf16-matmul')).rejects.toThrow('precision bf16-matmul is the wasm backend\'s mode; backend "reference" computes in f32');
  });

  it('refuses UNILAB_PRECISION when it disagrees with the spec, naming both, and accepts it when it agrees', async () => {
    vi.stubEnv('UNILAB_PRECISION', 'bf16-matmul');
    await expect(createBackend('wasm', 'f32')).rejects.toThrow('UNILAB_PRECISION=bf16-matmul disagrees with the spec\'s precision "f32"');
    await expect(createBackend('reference')).rejects.toThrow(/disagrees with the spec's precision "f32"/);
    const agreed = await createBackend('wasm', 'bf16-matmul');
    expect(precisionOf(agreed)).toBe('bf16-matmul');
    close(agreed);
    vi.stubEnv('UNILAB_PRECISION', 'f32');
    expect((await createBackend('reference')).name).toBe('reference');
    vi.stubEnv('UNILAB_PRECISION', 'fp8');
    await expect(createBackend('wasm')).rejects.toThrow('UNILAB_PRECISION must be one of "f32", "bf16-matmul"; got "fp8"');
  });
});
