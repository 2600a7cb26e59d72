import type { NonFiniteOp } from '../autodiff/finite-check.ts';
import { firstNonFinite } from '../autodiff/finite-check.ts';
import { crossEntropy } from '../autodiff/ops.ts';
import { Tape } from '../autodiff/tape.ts';
import type { Backend } from '../backend/backend.ts';
import type { Batch } from '../batch.ts';
import { uploadBatch } from '../batch-tensors.ts';
import type { Parameter } from '../nn/parameter.ts';
import type { Model } from '../plugins/architecture.ts';

/**
 * Replays a diverged training step (its micro-batches, the parameters it started from) on finite-check tapes and
 * names the first op that produced NaN or ±inf: the forward pass of each micro-batch in op order, then its backward
 * in reverse op order, as the step ran them. Kernels are deterministic (dropout masks are a function of the tokens),
 * so the replay computes exactly the values of the step. A parameter that is already non-finite is named instead;
 * when every op's values are finite, the overflow is in the gradients' accumulation or their sum of squares.
 * The gradients are zero again when it returns.
 */
export async function locateNonFinite(backend: Backend, model: Model, batches: readonly Batch[], params: readonly Parameter[]): Promise<NonFiniteOp | null> {
  try {
    for (const p of params) {
      const found = firstNonFinite(await backend.read(p.value));
      if (found) return { phase: 'forward', op: 'parameter', where: `${p.name} was not finite before the step`, ...found };
    }
    for (const batch of batches) {
      const tape = new Tape(backend, true, true, new Set(params));
      try {
        const inputs = uploadBatch(tape, batch);
        const loss = crossEntropy(tape, model.forward(tape, inputs), inputs.targets, inputs.lossMask);
        const found = (await tape.firstNonFiniteForward()) ?? (await tape.backwardChecked(loss, 1 / batches.length));
        if (found) return found;
      } finally {
        tape.release();
      }
    }
    for (const p of params) {
      const found = firstNonFinite(await backend.read(p.grad));
      if (found) return { phase: 'backward', op: 'gradient-accumulation', where: `the gradient of ${p.name}, summed over ${batches.length} micro-batches`, ...found };
    }
    const squares = backend.sumOfSquares(params.map((p) => p.grad));
    try {
      const found = firstNonFinite(await backend.read(squares));
      return found ? { phase: 'backward', op: 'gradient-norm', where: 'the sum of squares of the (finite) gradients, for clipping', ...found } : null;
    } finally {
      backend.dispose(squares);
    }
  } finally {
    for (const p of params) backend.fillZero(p.grad);
  }
}
