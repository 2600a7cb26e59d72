import { describe, expect, it } from 'vitest';
import { Tape, Var } from '../src/autodiff/tape.ts';
import * as ops from '../src/autodiff/ops.ts';
import { createReferenceBackend } from '../src/backends/reference/reference-backend.ts';
import { createWasmBackend } from '../src/backends/wasm/wasm-backend.ts';
import type { Backend } from '../src/backend/backend.ts';
import { createParameter } from '../src/nn/parameter.ts';
import { createWebGpuBackend } from '../src/backends/webgpu/webgpu-backend.ts';
// The device comes from the runtime edge (libs/runner), as in an application.
import { webgpuOrSkip } from '../../runner/test/webgpu-fixture.ts';

/**
 * A finite-check tape names the first op that produced NaN or ±inf. Forward: a weight entry of 3e38 makes x·W
 * overflow. Backward only: RMSNorm of tiny inputs (1e-20) with a gain of 1e37 gives finite logits (about 3e19), but
 * its input gradient gain · dy / rms (1e37 × 0.25 / 3.2e-3) overflows.
 */
function linearAndLoss(be: Backend, x: number[], w: number[], tape: Tape) {
  const input = new Var(tape.own(be.fromArray(Float32Array.from(x), [4, 2])), false);
  const weight = createParameter(be, 'layers.1.ffn.up', Float32Array.from(w), [2, 2], true);
  return lossOf(be, tape, ops.linear(tape, input, tape.param(weight)));
}

function lossOf(be: Backend, tape: Tape, logits: Var) {
  const targets = tape.own(be.fromArray(Int32Array.from([1, 1, 1, 1]), [4]));
  const mask = tape.own(be.fromArray(new Float32Array(4).fill(1), [4]));
  return ops.crossEntropy(tape, logits, targets, mask);
}

const backends: [string, () => Promise<Backend>][] = [
  ['reference', async () => createReferenceBackend()],
  ['wasm', () => createWasmBackend(undefined, { checkFinite: false })],
];
// The checks only read tensors back, so they hold on the GPU too (lavapipe in CI).
const device = await webgpuOrSkip();
if (device) backends.push(['webgpu', async () => createWebGpuBackend(device.device)]);

describe('finite-check tape', () => {
  for (const [name, create] of backends) {
    it(`${name}: names the forward op whose output overflowed, with its parameter and output shape`, async () => {
      const be = await create();
      const tape = new Tape(be, true, true);
      linearAndLoss(be, [1, 2, 1, 2, 3, 1, 1, 1], [3e38, 0, 1, 1], tape);
      expect(await tape.firstNonFiniteForward()).toEqual({
        phase: 'forward',
        op: 'linear',
        where: 'parameter layers.1.ffn.up, output shape [4, 2]',
        value: Infinity,
        index: 4,
      });
      tape.release();
    });

    it(`${name}: names the backward op whose gradient overflowed while the forward stayed finite`, async () => {
      const be = await create();
      const tape = new Tape(be, true, true);
      const embed = createParameter(be, 'layers.0.embed', Float32Array.from([1e-20, -1e-20, 2e-20, -1e-20, 1e-20, -3e-20, 1e-20, -1e-20]), [4, 2], true);
      const gain = createParameter(be, 'layers.0.norm', Float32Array.from([1e37, 1e37]), [2], false);
      const loss = lossOf(be, tape, ops.rmsnorm(tape, tape.param(embed), tape.param(gain), 1e-5));
      expect(await tape.firstNonFiniteForward()).toBeNull();
      expect(Number.isFinite((await be.read(loss.value))[0])).toBe(true);
      expect(await tape.backwardChecked(loss)).toMatchObject({
        phase: 'backward',
        op: 'rmsnorm',
        where: 'parameters layers.0.embed, layers.0.norm, output shape [4, 2]; the gradient of layers.0.embed',
        value: Infinity,
      });
      // The overflowing contribution was never added: the parameter's gradient is as before the backward.
      expect(Array.from(await be.read(embed.grad))).toEqual(new Array(8).fill(0));
      tape.release();
    });
  }

  it('an op recorded without a name (a plugin written before ops were named) is reported as "unnamed op"', async () => {
    const be = createReferenceBackend();
    const tape = new Tape(be, true, true);
    tape.record(be.fromArray(Float32Array.from([1, Infinity]), [2]), [], () => {});
    expect(await tape.firstNonFiniteForward()).toMatchObject({ phase: 'forward', op: 'unnamed op', value: Infinity, index: 1 });
    tape.release();
  });

  it('an ordinary tape refuses the checks rather than reporting nothing', async () => {
    const tape = new Tape(createReferenceBackend());
    await expect(tape.firstNonFiniteForward()).rejects.toThrow(/not made with checkFinite/);
  });
});
