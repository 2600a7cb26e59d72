import { WebGpuUnavailableError } from '@unilab/core';
import { acquireWebGpuDevice, type WebGpuDevice } from '../src/webgpu-device.ts';

/**
 * The WebGPU tests' device: acquired once per test file, or null when this machine has no adapter. A missing
 * adapter skips the WebGPU tests with the reason printed — unless UNILAB_REQUIRE_WEBGPU is set (CI sets it), in
 * which case it is an error: CI must never pass by skipping.
 */
export async function webgpuOrSkip(): Promise<WebGpuDevice | null> {
  try {
    return await acquireWebGpuDevice();
  } catch (e) {
    if (!(e instanceof WebGpuUnavailableError) || process.env.UNILAB_REQUIRE_WEBGPU) throw e;
    console.warn(`[webgpu tests skipped] ${e.message} (set UNILAB_REQUIRE_WEBGPU=1 to make this an error)`);
    return null;
  }
}

/** max |got − want| / max |want| over finite entries; infinities must sit at the same places with the same sign. */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(want[i])) {
      if (got[i] !== want[i]) return Infinity;
      continue;
    }
    if (!Number.isFinite(got[i])) return Infinity;
    scale = Math.max(scale, Math.abs(want[i]));
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** The parity table of the closing note: worst relative error per op, printed once a file's tests are done. */
export class ParityTable {
  private readonly rows = new Map<string, number>();

  record(op: string, error: number): void {
    this.rows.set(op, Math.max(this.rows.get(op) ?? 0, error));
  }

  print(title: string): void {
    const runtime = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined' ? 'Deno' : 'Node';
    const lines = [...this.rows].map(([op, e]) => `  ${op.padEnd(44)} ${e.toExponential(2)}`);
    console.log(`${title} (${runtime})\n${lines.join('\n')}`);
  }
}
