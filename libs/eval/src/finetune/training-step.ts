import { Tape, type AdamW, type Backend, type Parameter, type Var } from '@unilab/core';

/**
 * One forward and backward of a loss on a tape that records gradients for `trainable` only (frozen weights are
 * constants below it); returns the loss. The tape is released whatever happens.
 */
export async function backwardLoss(backend: Backend, trainable: ReadonlySet<Parameter>, loss: (tape: Tape) => Var): Promise<number> {
  const tape = new Tape(backend, true, false, trainable);
  try {
    const lossVar = loss(tape);
    tape.backward(lossVar);
    return (await backend.read(lossVar.value))[0];
  } finally {
    tape.release();
  }
}

export interface UpdateStep {
  /** What is trained, for the error: "sft", "dpo", "fine-tuning (lora)". */
  name: string;
  /** 1-based. */
  step: number;
  lr: number;
  /** The schedule's peak rate, named in the advice. */
  maxLr: number;
  /** The step's loss, refused when not finite; null where the caller checks no loss. */
  loss: number | null;
}

/**
 * Clip by the global gradient norm and apply AdamW's update, refusing a non-finite loss or gradient norm with the
 * step and the advice to lower the learning rate (an update from such gradients would spoil every weight).
 */
export async function clippedUpdate(backend: Backend, optimizer: AdamW, s: UpdateStep): Promise<void> {
  const sumSquares = optimizer.gradSumOfSquares();
  try {
    const gradNorm = Math.sqrt((await backend.read(sumSquares))[0]);
    if ((s.loss !== null && !Number.isFinite(s.loss)) || !Number.isFinite(gradNorm))
      throw new Error(
        `${s.name} diverged at step ${s.step}: ${s.loss === null ? '' : `loss ${s.loss}, `}gradient norm ${gradNorm}; lower the learning rate (now ${s.maxLr})`,
      );
    optimizer.update(s.lr, sumSquares);
  } finally {
    backend.dispose(sumSquares);
  }
}
