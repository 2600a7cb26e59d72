import type { DType, Tensor } from './tensor.ts';

/**
 * Per-position attention mask descriptors (see batch.ts for the rule). All are i32 tensors.
 * querySegments and prefixEnd: [B, Tq]; keySegments: [B, Tk]. For self-attention keySegments is querySegments.
 */
export interface AttentionMask {
  querySegments: Tensor;
  keySegments: Tensor;
  prefixEnd: Tensor;
}

export interface AttentionOptions {
  /** Multiplier of q·k, usually 1/sqrt(headDim). */
  scale: number;
  /** Optional additive bias [H, Tq, Tk] (ALiBi, T5 relative buckets), shared across the batch. */
  bias?: Tensor;
}

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number for bias correction. */
  step: number;
}

export interface MemoryStats {
  /** Tensors allocated and not yet disposed. */
  liveTensors: number;
  liveBytes: number;
  /** Bytes the backend holds from its host (live plus cached free blocks). */
  reservedBytes: number;
}

/**
 * The kernel backend. It owns tensor memory and runs coarse fused ops, each a forward with its backward.
 * Every op allocates its outputs; callers dispose what they no longer need (the autodiff tape does so every step).
 * Layouts are row-major. "Rows" means all leading dimensions flattened.
 *
 * Reading values back is asynchronous because a GPU readback is.
 */
export interface Backend {
  readonly name: string;

  // Memory.
  zeros(shape: readonly number[], dtype?: DType): Tensor;
  fromArray(data: Float32Array | Int32Array | number[], shape: readonly number[], dtype?: DType): Tensor;
  read(t: Tensor): Promise<Float32Array | Int32Array>;
  /** Overwrite a tensor's contents from the host (checkpoint restore, batch upload into a reused buffer). */
  write(t: Tensor, data: Float32Array | Int32Array): void;
  /** Release a handle; memory returns to the backend when its last handle (the tensor or a view) is disposed. */
  dispose(t: Tensor): void;
  /** A new handle on the same memory with another shape of equal size (no copy); dispose it like any tensor. */
  reshape(t: Tensor, shape: readonly number[]): Tensor;
  /**
   * dst[dstOffset .. dstOffset + src.size) = src, in place, on the device (same dtype). How a key/value cache takes
   * the keys and values of the tokens just decoded without a round trip through the host.
   */
  copyInto(dst: Tensor, src: Tensor, dstOffset: number): void;
  memoryStats(): MemoryStats;

  // Linear algebra. a: [M, K] (or [K, M] when transA), b: [K, N] (or [N, K] when transB) -> [M, N].
  // Each operand is viewed as 2-D [rows, last dim]; leading dims of `a` (when not transposed) are kept in the output.
  matmul(a: Tensor, b: Tensor, transA?: boolean, transB?: boolean): Tensor;
  /**
   * residual + op(a)·op(b): the projection into the residual stream with the residual add in its epilogue (and the
   * FFN's dX = dgate·Wgᵀ + dup·Wuᵀ). residual has the product's shape. The same bits as `add(residual, matmul(...))`.
   * Optional: autodiff/ops.ts composes matmul and add on a backend without it.
   */
  matmulAdd?(a: Tensor, b: Tensor, residual: Tensor, transA?: boolean, transB?: boolean): Tensor;
  /**
   * The SwiGLU FFN's first half in one call: gate = x·wGate, up = x·wUp (x: [..., K], wGate/wUp: [K, F]) and
   * y = silu(gate) ⊙ up, all [..., F]; gate and up are kept for the backward. The same bits as matmul, matmul, swiglu.
   * Optional, as matmulAdd.
   */
  swigluProjection?(x: Tensor, wGate: Tensor, wUp: Tensor): { y: Tensor; gate: Tensor; up: Tensor };
  /** x: [rows, N] + bias [N]. */
  addBias(x: Tensor, bias: Tensor): Tensor;
  /** Sum of dy [rows, N] over rows -> [N] (the bias gradient). */
  sumRows(dy: Tensor): Tensor;

  // Elementwise.
  add(a: Tensor, b: Tensor): Tensor;
  /** dst += src, in place (gradient accumulation). */
  addInPlace(dst: Tensor, src: Tensor): void;
  /** a * b elementwise (same size): gates and position-dependent scales; the backward is two more of it. */
  mul(a: Tensor, b: Tensor): Tensor;
  /** x * s as a new tensor. */
  scale(x: Tensor, s: number): Tensor;
  /** x * s[0] as a new tensor, with the scalar s: [1] read on the device (no readback). */
  scaleBy(x: Tensor, s: Tensor): Tensor;

  // Embedding. ids: i32 [N], table: [V, D] -> [N, D]; backward scatters dy into a fresh [V, D].
  embedding(ids: Tensor, table: Tensor): Tensor;
  embeddingBackward(ids: Tensor, dy: Tensor, vocabSize: number): Tensor;

  // Normalisation. x: [rows, D], weight/bias: [D]; the forward also returns its per-row statistics for the backward.
  rmsnorm(x: Tensor, weight: Tensor, eps: number): { y: Tensor; rstd: Tensor };
  rmsnormBackward(dy: Tensor, x: Tensor, weight: Tensor, rstd: Tensor): { dx: Tensor; dweight: Tensor };
  layernorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): { y: Tensor; mean: Tensor; rstd: Tensor };
  layernormBackward(
    dy: Tensor,
    x: Tensor,
    weight: Tensor,
    mean: Tensor,
    rstd: Tensor,
  ): { dx: Tensor; dweight: Tensor; dbias: Tensor };

  // Activations. swiglu: silu(gate) * up, gate/up: [rows, F].
  swiglu(gate: Tensor, up: Tensor): Tensor;
  swigluBackward(dy: Tensor, gate: Tensor, up: Tensor): { dgate: Tensor; dup: Tensor };
  gelu(x: Tensor): Tensor;
  geluBackward(dy: Tensor, x: Tensor): Tensor;
  relu(x: Tensor): Tensor;
  reluBackward(dy: Tensor, x: Tensor): Tensor;

  /**
   * Inverted dropout with a stateless mask: element e is kept iff hash(seed's contents, salt, e) >= rate * 2^32,
   * and kept elements are scaled by 1 / (1 - rate) (kernels/dropout.ts). seed is any i32 tensor (the batch's
   * tokens), salt a u32 naming the call site. No state is carried between calls, so a resumed run draws the same
   * masks; the same op applied to dy with the same seed and salt is the backward.
   */
  dropout(x: Tensor, rate: number, seed: Tensor, salt: number): Tensor;

  /**
   * Rotary position embedding on x: [B, T, H, D] with positions i32 [B, T]; pairs (2i, 2i+1) rotate by
   * pos * base^(-2i/D). `inverse` rotates the other way, which is exactly the backward. With blockPositions
   * i32 [B, T] it is GLM-130B's 2D RoPE: the first half of each head rotates by positions, the second by
   * blockPositions, each half with D/2 frequencies (D a multiple of 4).
   */
  rope(x: Tensor, positions: Tensor, base: number, inverse?: boolean, blockPositions?: Tensor): Tensor;

  /**
   * Attention. q: [B, Tq, H, D]; k, v: [B, Tk, Hkv, D] with H a multiple of Hkv (grouped-query).
   * Returns out [B, Tq, H, D] and the log-sum-exp of each query's scores lse [B, H, Tq] for the backward.
   * A query that may see no key gets zeros (never NaN).
   */
  attention(q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask, options: AttentionOptions): { out: Tensor; lse: Tensor };
  attentionBackward(
    dout: Tensor,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    out: Tensor,
    lse: Tensor,
    mask: AttentionMask,
    options: AttentionOptions,
  ): { dq: Tensor; dk: Tensor; dv: Tensor; dbias?: Tensor };

  /**
   * Fused softmax cross-entropy. logits: [N, V], targets: i32 [N], lossMask: f32 [N].
   * loss = mean over unmasked rows of -log softmax(logits)[target]; returns loss [1] and dlogits = d loss / d logits.
   * With no unmasked row the loss is 0 and the gradient zero.
   */
  crossEntropy(logits: Tensor, targets: Tensor, lossMask: Tensor): { loss: Tensor; dlogits: Tensor };

  // Optimizer.
  /** Sum of squares over all given tensors -> [1]. */
  sumOfSquares(tensors: readonly Tensor[]): Tensor;
  /** Scale every tensor in place by min(1, maxNorm / (sqrt(sumSquares) + 1e-6)); sumSquares: [1] from sumOfSquares. */
  clipByGlobalNorm(tensors: readonly Tensor[], sumSquares: Tensor, maxNorm: number): void;
  /** Decoupled-weight-decay Adam, in place on param, m, v. */
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, options: AdamWOptions): void;
  /** Set every element to zero, in place. */
  fillZero(t: Tensor): void;
}
