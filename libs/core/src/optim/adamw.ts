import type { Backend } from '../backend/backend.ts';
import type { Tensor } from '../backend/tensor.ts';
import type { Parameter } from '../nn/parameter.ts';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global gradient norm to this value before the update (0 = no clipping). */
  clipNorm: number;
}

/**
 * AdamW over a model's parameters, with global-norm clipping. Moments live on the backend beside the parameters.
 * Weight decay applies only to parameters marked `decay` (matrices, embeddings).
 */
export class AdamW {
  readonly m: Tensor[];
  readonly v: Tensor[];
  /** Number of updates applied so far (Adam's t). */
  stepCount = 0;

  constructor(
    private readonly backend: Backend,
    readonly params: readonly Parameter[],
    readonly config: AdamWConfig,
  ) {
    this.m = params.map((p) => backend.zeros(p.value.shape));
    this.v = params.map((p) => backend.zeros(p.value.shape));
  }

  /**
   * The squared global gradient norm (sum of squares over every gradient) as a device scalar; the caller reads it
   * back asynchronously, passes it to `update`, then disposes it.
   */
  gradSumOfSquares(): Tensor {
    return this.backend.sumOfSquares(this.params.map((p) => p.grad));
  }

  /** Clip by the global norm (sumSquares from gradSumOfSquares), update every parameter with learning rate `lr`, zero the gradients. */
  update(lr: number, sumSquares: Tensor): void {
    const be = this.backend;
    if (this.config.clipNorm > 0) be.clipByGlobalNorm(this.params.map((p) => p.grad), sumSquares, this.config.clipNorm);
    this.stepCount++;
    this.params.forEach((p, i) => {
      be.adamw(p.value, p.grad, this.m[i], this.v[i], {
        lr,
        beta1: this.config.beta1,
        beta2: this.config.beta2,
        eps: this.config.eps,
        weightDecay: p.decay ? this.config.weightDecay : 0,
        step: this.stepCount,
      });
    });
    this.zeroGrad();
  }

  /** Drop the accumulated gradients without an update (a diverged step is not applied). */
  zeroGrad(): void {
    for (const p of this.params) this.backend.fillZero(p.grad);
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) this.backend.dispose(t);
  }
}
