import type { Backend } from '../backend/backend.ts';
import type { Tensor } from '../backend/tensor.ts';
import type { Parameter } from '../nn/parameter.ts';

/** A value on the tape: a tensor plus, once backward has reached it, its gradient. */
export class Var {
  grad: Tensor | null = null;
  constructor(
    readonly value: Tensor,
    readonly requiresGrad: boolean,
    /** Set for a model parameter: its gradient accumulates into the parameter's persistent buffer. */
    readonly param?: Parameter,
  ) {}

  get shape(): readonly number[] {
    return this.value.shape;
  }
}

/**
 * Reverse-mode autodiff over coarse fused ops. Every tensor an op creates is owned by the tape and released by
 * `release()` at the end of the step, so memory does not grow across steps. Gradients of parameters accumulate into
 * their persistent `grad` buffers (that is how gradient accumulation over micro-batches works).
 */
export class Tape {
  private readonly owned = new Set<Tensor>();
  private readonly nodes: { output: Var; backward: (grad: Tensor) => void }[] = [];

  constructor(
    readonly backend: Backend,
    /** False for inference: ops record no backward (their saved tensors are still released with the tape). */
    readonly recording = true,
  ) {}

  /** Take ownership of a tensor created during this step. */
  own<T extends Tensor>(t: T): T {
    this.owned.add(t);
    return t;
  }

  /** A parameter as seen by this step. Its tensor is persistent and never released by the tape. */
  param(p: Parameter): Var {
    return new Var(p.value, this.recording, p);
  }

  /** Create the output Var of an op and record its backward (which receives d output). */
  record(output: Tensor, inputs: readonly Var[], backward: (grad: Tensor) => void): Var {
    const requiresGrad = this.recording && inputs.some((v) => v.requiresGrad);
    const out = new Var(this.own(output), requiresGrad);
    if (requiresGrad) this.nodes.push({ output: out, backward });
    return out;
  }

  /** Add a gradient contribution to a Var (no-op if it needs none). */
  accumulate(v: Var, grad: Tensor): void {
    this.own(grad);
    if (!v.requiresGrad) {
      this.free(grad);
    } else if (v.param) {
      this.backend.addInPlace(v.param.grad, grad);
      this.free(grad);
    } else if (v.grad === null) {
      v.grad = grad;
    } else {
      this.backend.addInPlace(v.grad, grad);
      this.free(grad);
    }
  }

  /** Backpropagate from a scalar loss with d loss = seed (1, or 1/accumulationSteps). */
  backward(loss: Var, seed = 1): void {
    if (loss.value.size !== 1) throw new RangeError('backward: the loss must be a single value');
    loss.grad = this.own(this.backend.fromArray(new Float32Array([seed]), [1]));
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const { output, backward } = this.nodes[i];
      if (output.grad === null) continue;
      backward(output.grad);
      // The gradient of an op's output is dead once its backward ran: free it now to lower peak memory.
      this.free(output.grad);
      output.grad = null;
    }
    this.nodes.length = 0;
  }

  /** Dispose a tape-owned tensor before the end of the step. */
  free(t: Tensor): void {
    if (this.owned.delete(t)) this.backend.dispose(t);
  }

  /** Dispose every tensor this step created. */
  release(): void {
    for (const t of this.owned) this.backend.dispose(t);
    this.owned.clear();
    this.nodes.length = 0;
  }
}
