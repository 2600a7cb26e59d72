import type { Backend } from '../backend/backend.ts';
import { shapeString, type Tensor } from '../backend/tensor.ts';
import type { Parameter } from '../nn/parameter.ts';
import { describeOp, firstNonFinite, type NonFiniteOp } from './finite-check.ts';

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

/** An op's backward: receives d output, accumulates d inputs. */
type Backward = (grad: Tensor) => void;
type NamedRecord = [op: string, output: Tensor, inputs: readonly Var[], backward: Backward];

/** One op as the tape saw it: its name (the ops.ts function), its inputs and its output. */
export interface OpRecord {
  readonly op: string;
  readonly inputs: readonly Var[];
  readonly output: Var;
}

/**
 * Reverse-mode autodiff over coarse fused ops. Every tensor an op creates is owned by the tape and released by
 * `release()` at the end of the step, so memory does not grow across steps. Gradients of parameters accumulate into
 * their persistent `grad` buffers (that is how gradient accumulation over micro-batches works).
 *
 * A finite-check tape (`checkFinite`) is for replaying a step that produced NaN or ±inf: it keeps every op's output
 * so `firstNonFiniteForward()` can read them in order, and `backwardChecked()` reads each gradient an op's backward
 * produces before it is accumulated, stopping at the first non-finite one. Backend-agnostic (it only reads tensors
 * back), and ordinary steps never pay for it: the trainer replays only a step that diverged.
 */
export class Tape {
  private readonly owned = new Set<Tensor>();
  private readonly nodes: { record: OpRecord; backward: (grad: Tensor) => void }[] = [];
  /** Finite-check mode: every op in forward order. */
  private readonly forwardOps: OpRecord[] = [];
  /** Finite-check mode, inside backwardChecked: the gradient contributions of the op whose backward is running. */
  private pending: { v: Var; grad: Tensor }[] | null = null;
  /** Gradients an op's backward handed on to an input (passThrough): the backward loop must not free them. */
  private readonly handedOn = new Set<Tensor>();
  /** The d loss tensor of the running backward and its value, known on the host (scalarValue). */
  private seed: { tensor: Tensor; value: number } | null = null;

  constructor(
    readonly backend: Backend,
    /** False for inference: ops record no backward (their saved tensors are still released with the tape). */
    readonly recording = true,
    /** Keep each op's output and check gradients as they are made: the replay of a diverged step. */
    readonly checkFinite = false,
    /**
     * The parameters this step differentiates (absent: every parameter). Any other parameter is a constant, so the
     * ops below it record no backward and no gradient is computed for it: how a frozen pre-trained network is
     * fine-tuned through a few added tensors (LoRA, adapters, a head).
     */
    readonly trainable?: ReadonlySet<Parameter>,
  ) {}

  /** Take ownership of a tensor created during this step. */
  own<T extends Tensor>(t: T): T {
    this.owned.add(t);
    return t;
  }

  /** A parameter as seen by this step. Its tensor is persistent and never released by the tape. */
  param(p: Parameter): Var {
    return new Var(p.value, this.recording && (this.trainable?.has(p) ?? true), p);
  }

  /**
   * Create the output Var of op `op` (its name, for diagnostics) and record its backward (which receives d output).
   * The name may be left out (plugins published before ops were named call `record(output, inputs, backward)`);
   * such an op is reported as "unnamed op".
   */
  record(op: string, output: Tensor, inputs: readonly Var[], backward: Backward): Var;
  record(output: Tensor, inputs: readonly Var[], backward: Backward): Var;
  record(...args: NamedRecord | [Tensor, readonly Var[], Backward]): Var {
    const [op, output, inputs, backward] = typeof args[0] === 'string' ? (args as NamedRecord) : (['unnamed op', ...args] as NamedRecord);
    const requiresGrad = this.recording && inputs.some((v) => v.requiresGrad);
    const record = { op, inputs, output: new Var(this.own(output), requiresGrad) };
    if (requiresGrad) this.nodes.push({ record, backward });
    if (this.checkFinite) this.forwardOps.push(record);
    return record.output;
  }

  /** Add a gradient contribution to a Var (no-op if it needs none). */
  accumulate(v: Var, grad: Tensor): void {
    this.own(grad);
    if (!v.requiresGrad) {
      this.free(grad);
    } else if (this.pending) {
      this.pending.push({ v, grad });
    } else {
      this.apply(v, grad);
    }
  }

  private apply(v: Var, grad: Tensor): void {
    if (v.param) {
      this.backend.addInPlace(v.param.grad, grad);
      this.free(grad);
    } else if (v.grad === null) {
      v.grad = grad;
    } else {
      this.backend.addInPlace(v.grad, grad);
      this.free(grad);
    }
  }

  /**
   * Give an op's d output to one of its inputs as that input's gradient contribution, without a copy when the input
   * has none yet (the identity branch of a fused residual add: d residual = d output). The caller must not write to
   * `grad` afterwards. In finite-check mode the contribution is a copy, checked like any other.
   */
  passThrough(v: Var, grad: Tensor): void {
    if (!v.requiresGrad) return;
    if (this.pending || v.param || v.grad !== null) {
      this.accumulate(v, this.backend.scale(grad, 1));
      return;
    }
    v.grad = grad;
    this.handedOn.add(grad);
  }

  /** The host value of a d loss seed tensor of the running backward, or undefined for any other tensor. */
  scalarValue(t: Tensor): number | undefined {
    return this.seed?.tensor === t ? this.seed.value : undefined;
  }

  /** Backpropagate from a scalar loss with d loss = seed (1, or 1/accumulationSteps). */
  backward(loss: Var, seed = 1): void {
    if (loss.value.size !== 1) throw new RangeError('backward: the loss must be a single value');
    loss.grad = this.own(this.backend.fromArray(new Float32Array([seed]), [1]));
    this.seed = { tensor: loss.grad, value: Math.fround(seed) };
    try {
      for (let i = this.nodes.length - 1; i >= 0; i--) {
        const { record, backward } = this.nodes[i];
        const { output } = record;
        if (output.grad === null) continue;
        backward(output.grad);
        // The gradient of an op's output is dead once its backward ran (unless handed on to an input): free it now
        // to lower peak memory.
        if (!this.handedOn.delete(output.grad)) this.free(output.grad);
        output.grad = null;
      }
    } finally {
      this.seed = null;
      this.handedOn.clear();
      this.nodes.length = 0;
    }
  }

  /**
   * Finite-check mode: the first op, in forward order, whose output holds NaN or ±inf. Outputs are never written
   * after their op ran, so reading them after the forward pass sees what each op produced.
   */
  /** Every op of the forward so far, in order, with its inputs and output (finite-check tapes only; analyses read them). */
  forwardRecords(): readonly OpRecord[] {
    if (!this.checkFinite) throw new Error('forwardRecords: this tape was not made with checkFinite');
    return this.forwardOps;
  }

  async firstNonFiniteForward(): Promise<NonFiniteOp | null> {
    if (!this.checkFinite) throw new Error('firstNonFiniteForward: this tape was not made with checkFinite');
    for (let i = 0; i < this.forwardOps.length; i++) {
      const record = this.forwardOps[i];
      const found = firstNonFinite(await this.backend.read(record.output.value));
      if (found) return { phase: 'forward', op: record.op, where: describeOp(record, this.forwardOps.slice(0, i)), ...found };
    }
    return null;
  }

  /**
   * Finite-check mode: backward as `backward()` does it, but each gradient an op's backward produces is read before it
   * is accumulated; the first non-finite one stops the pass and names the op (and the input it was for).
   */
  async backwardChecked(loss: Var, seed = 1): Promise<NonFiniteOp | null> {
    if (!this.checkFinite) throw new Error('backwardChecked: this tape was not made with checkFinite');
    if (loss.value.size !== 1) throw new RangeError('backward: the loss must be a single value');
    loss.grad = this.own(this.backend.fromArray(new Float32Array([seed]), [1]));
    try {
      for (let i = this.nodes.length - 1; i >= 0; i--) {
        const { record, backward } = this.nodes[i];
        const { output } = record;
        if (output.grad === null) continue;
        this.pending = [];
        backward(output.grad);
        const contributions = this.pending;
        this.pending = null;
        for (const { v, grad } of contributions) {
          const found = firstNonFinite(await this.backend.read(grad));
          if (found) {
            const before = this.forwardOps.slice(0, this.forwardOps.indexOf(record));
            const input = v.param ? v.param.name : `input ${record.inputs.indexOf(v)} ${shapeString(v.shape)}`;
            return { phase: 'backward', op: record.op, where: `${describeOp(record, before)}; the gradient of ${input}`, ...found };
          }
          this.apply(v, grad);
        }
        this.free(output.grad);
        output.grad = null;
      }
      return null;
    } finally {
      this.pending = null;
      this.nodes.length = 0;
    }
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
