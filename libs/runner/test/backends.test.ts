import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBackend } from '../src/backends.ts';

afterEach(() => vi.unstubAllEnvs());

describe('createBackend and UNILAB_PRECISION', () => {
  it('gives the wasm backend the mixed precision and refuses it for a backend that has none', async () => {
    vi.stubEnv('UNILAB_PRECISION', 'bf16-matmul');
    const wasm = await createBackend('wasm');
    expect((wasm as unknown as { precision: string }).precision).toBe('bf16-matmul');
    (wasm as unknown as { close(): void }).close();
    await expect(createBackend('reference')).rejects.toThrow('UNILAB_PRECISION=bf16-matmul applies to the wasm backend only; this run\'s backend is "reference"');
    vi.stubEnv('UNILAB_PRECISION', 'f32');
    expect((await createBackend('reference')).name).toBe('reference');
  });
});
