import type {
  AdamWOptions,
  AttentionMask,
  AttentionOptions,
  Backend,
  MemoryStats,
} from '../backend/backend.ts';
import { attentionDims, expectLastDim, expectSameSize, matmulDims, ropeDims } from '../backend/shape-checks.ts';
import { checkCopy, shapeString, sizeOf, type DType, type Tensor } from '../backend/tensor.ts';
import { adamwUpdate, clipScale, sumOfSquares } from '../kernels/adamw.ts';
import { geluBackward, geluForward, reluBackward, reluForward, swigluBackward, swigluForward } from '../kernels/activations.ts';
import { attentionBackward, attentionForward, type AttentionShape } from '../kernels/attention.ts';
import { crossEntropyForwardBackward } from '../kernels/cross-entropy.ts';
import { dropoutForward, dropoutKey } from '../kernels/dropout.ts';
import { addForward, addInPlace, mulForward, scaleForward } from '../kernels/elementwise.ts';
import { embeddingBackward, embeddingForward } from '../kernels/embedding.ts';
import { layernormBackward, layernormForward } from '../kernels/layernorm.ts';
import { addBiasBackward, addBiasForward, matmulForward } from '../kernels/matmul.ts';
import { rmsnormBackward, rmsnormForward } from '../kernels/rmsnorm.ts';
import { ropeForward } from '../kernels/rope.ts';
import type { FloatArray } from '../kernels/types.ts';
import type { ArrayStorage } from './array-storage.ts';

/** Memory shared by a tensor and its reshaped views; freed when the last handle is disposed. */
interface Block<Slot> {
  slot: Slot;
  handles: number;
}

class ArrayTensor<Slot> implements Tensor {
  disposed = false;
  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly size: number,
    readonly backend: string,
    readonly block: Block<Slot>,
  ) {}

  get slot(): Slot {
    return this.block.slot;
  }
}

/**
 * Matmul on tensors of this storage: C[m, n] (+)= op(A)·op(B) (see kernels/matmul.ts). The WASM backend passes its
 * Rust kernel here; everything else runs the TypeScript kernels on views of the storage.
 */
export type MatmulImpl<Slot> = (
  a: Slot,
  b: Slot,
  c: Slot,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
) => void;

/**
 * A backend whose tensors are typed arrays over some storage. Each op allocates its outputs first and only then
 * takes views (an allocation may grow WASM memory and detach earlier views).
 */
export class ArrayBackend<Slot> implements Backend {
  readonly name: string;
  private live = 0;
  private liveBytes = 0;

  constructor(
    private readonly storage: ArrayStorage<Slot>,
    private readonly matmulImpl?: MatmulImpl<Slot>,
  ) {
    this.name = storage.name;
  }

  // ---- memory ----

  zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    for (const d of shape)
      if (!Number.isInteger(d) || d < 0) throw new RangeError(`${this.name}: invalid shape ${shapeString(shape)}`);
    const size = sizeOf(shape);
    const slot = this.storage.allocate(size, dtype);
    const t = new ArrayTensor(shape.slice(), dtype, size, this.name, { slot, handles: 1 });
    if (dtype === 'i32') this.storage.intView(slot, size).fill(0);
    else this.storage.floatView(slot, size).fill(0);
    this.live++;
    this.liveBytes += size * this.bytesPer(dtype);
    return t;
  }

  fromArray(data: Float32Array | Int32Array | number[], shape: readonly number[], dtype?: DType): Tensor {
    const type: DType = dtype ?? (data instanceof Int32Array ? 'i32' : 'f32');
    const t = this.zeros(shape, type);
    if (data.length !== t.size)
      throw new RangeError(`${this.name}: ${data.length} values do not fill shape ${shapeString(shape)} (${t.size})`);
    this.write(t, data instanceof Int32Array || data instanceof Float32Array ? data : Float32Array.from(data));
    return t;
  }

  async read(t: Tensor): Promise<Float32Array | Int32Array> {
    const tensor = this.own(t, 'read');
    if (tensor.dtype === 'i32') return this.storage.intView(tensor.slot, tensor.size).slice();
    return Float32Array.from(this.storage.floatView(tensor.slot, tensor.size));
  }

  /** Float values at full storage precision (float64 for the reference-f64 backend), for tests. */
  readFloat(t: Tensor): FloatArray {
    return this.f(t).slice();
  }

  /** A zero-copy view of a float tensor (valid until the next allocation), for finite-difference tests. */
  floatView(t: Tensor): FloatArray {
    return this.f(t);
  }

  write(t: Tensor, data: Float32Array | Int32Array): void {
    const tensor = this.own(t, 'write');
    if (data.length !== tensor.size)
      throw new RangeError(`${this.name}: write of ${data.length} values into ${shapeString(t.shape)}`);
    if (tensor.dtype === 'i32') this.storage.intView(tensor.slot, tensor.size).set(data);
    else this.storage.floatView(tensor.slot, tensor.size).set(data);
  }

  dispose(t: Tensor): void {
    const tensor = this.own(t, 'dispose');
    tensor.disposed = true;
    this.live--;
    if (--tensor.block.handles > 0) return;
    this.storage.free(tensor.slot, tensor.size, tensor.dtype);
    this.liveBytes -= tensor.size * this.bytesPer(tensor.dtype);
  }

  copyInto(dst: Tensor, src: Tensor, dstOffset: number): void {
    const to = this.own(dst, 'copyInto');
    const from = this.own(src, 'copyInto');
    checkCopy(to, from, dstOffset);
    if (to.dtype === 'i32') this.storage.intView(to.slot, to.size).set(this.storage.intView(from.slot, from.size), dstOffset);
    else this.storage.floatView(to.slot, to.size).set(this.storage.floatView(from.slot, from.size), dstOffset);
  }

  reshape(t: Tensor, shape: readonly number[]): Tensor {
    const tensor = this.own(t, 'reshape');
    if (sizeOf(shape) !== tensor.size)
      throw new RangeError(`reshape: cannot view ${shapeString(t.shape)} as ${shapeString(shape)}`);
    tensor.block.handles++;
    this.live++;
    return new ArrayTensor(shape.slice(), tensor.dtype, tensor.size, this.name, tensor.block);
  }

  memoryStats(): MemoryStats {
    return { liveTensors: this.live, liveBytes: this.liveBytes, reservedBytes: this.storage.reservedBytes() };
  }

  // ---- linear algebra ----

  matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
    const { m, k, n, outShape } = matmulDims(a, b, transA, transB);
    const c = this.zeros(outShape);
    const [ta, tb, tc] = [this.own(a, 'matmul'), this.own(b, 'matmul'), c as ArrayTensor<Slot>];
    if (this.matmulImpl) this.matmulImpl(ta.slot, tb.slot, tc.slot, m, k, n, transA, transB);
    else matmulForward(this.f(a), this.f(b), this.f(c), m, k, n, transA, transB, false);
    return c;
  }

  /** The reference of the fused projection: matmul, then the residual add (Backend.matmulAdd). */
  matmulAdd(a: Tensor, b: Tensor, residual: Tensor, transA = false, transB = false): Tensor {
    const product = this.matmul(a, b, transA, transB);
    try {
      if (residual.size !== product.size || residual.shape.length !== product.shape.length || residual.shape.some((d, i) => d !== product.shape[i]))
        throw new RangeError(`matmulAdd: the residual ${shapeString(residual.shape)} must have the product's shape ${shapeString(product.shape)}`);
      return this.add(residual, product);
    } finally {
      this.dispose(product);
    }
  }

  /** The reference of the fused gate/up projection: two matmuls, then SwiGLU (Backend.swigluProjection). */
  swigluProjection(x: Tensor, wGate: Tensor, wUp: Tensor): { y: Tensor; gate: Tensor; up: Tensor } {
    const gate = this.matmul(x, wGate);
    const up = this.matmul(x, wUp);
    if (gate.shape.some((d, i) => d !== up.shape[i])) {
      this.dispose(gate);
      this.dispose(up);
      throw new RangeError(`swigluProjection: wGate ${shapeString(wGate.shape)} and wUp ${shapeString(wUp.shape)} must have one shape`);
    }
    return { y: this.swiglu(gate, up), gate, up };
  }

  addBias(x: Tensor, bias: Tensor): Tensor {
    const n = bias.size;
    expectLastDim(x, n, 'addBias');
    const y = this.zeros(x.shape);
    addBiasForward(this.f(x), this.f(bias), this.f(y), x.size / n, n);
    return y;
  }

  sumRows(dy: Tensor): Tensor {
    const n = dy.shape[dy.shape.length - 1];
    const out = this.zeros([n]);
    addBiasBackward(this.f(dy), this.f(out), dy.size / n, n);
    return out;
  }

  // ---- elementwise ----

  add(a: Tensor, b: Tensor): Tensor {
    expectSameSize(a, b, 'add');
    const c = this.zeros(a.shape);
    addForward(this.f(a), this.f(b), this.f(c), a.size);
    return c;
  }

  addInPlace(dst: Tensor, src: Tensor): void {
    expectSameSize(dst, src, 'addInPlace');
    addInPlace(this.f(dst), this.f(src), dst.size);
  }

  mul(a: Tensor, b: Tensor): Tensor {
    expectSameSize(a, b, 'mul');
    const c = this.zeros(a.shape);
    mulForward(this.f(a), this.f(b), this.f(c), a.size);
    return c;
  }

  scale(x: Tensor, s: number): Tensor {
    const y = this.zeros(x.shape);
    scaleForward(this.f(x), this.f(y), s, x.size);
    return y;
  }

  scaleBy(x: Tensor, s: Tensor): Tensor {
    const y = this.zeros(x.shape);
    scaleForward(this.f(x), this.f(y), this.f(s)[0], x.size);
    return y;
  }

  // ---- embedding ----

  embedding(ids: Tensor, table: Tensor): Tensor {
    const [v, d] = table.shape;
    const y = this.zeros([...ids.shape, d]);
    embeddingForward(this.i(ids), this.f(table), this.f(y), ids.size, d, v);
    return y;
  }

  embeddingBackward(ids: Tensor, dy: Tensor, vocabSize: number): Tensor {
    const d = dy.shape[dy.shape.length - 1];
    const dtable = this.zeros([vocabSize, d]);
    embeddingBackward(this.i(ids), this.f(dy), this.f(dtable), ids.size, d, vocabSize);
    return dtable;
  }

  // ---- normalisation ----

  rmsnorm(x: Tensor, weight: Tensor, eps: number): { y: Tensor; rstd: Tensor } {
    const d = weight.size;
    expectLastDim(x, d, 'rmsnorm');
    const rows = x.size / d;
    const y = this.zeros(x.shape);
    const rstd = this.zeros([rows]);
    rmsnormForward(this.f(x), this.f(weight), this.f(y), this.f(rstd), rows, d, eps);
    return { y, rstd };
  }

  rmsnormBackward(dy: Tensor, x: Tensor, weight: Tensor, rstd: Tensor): { dx: Tensor; dweight: Tensor } {
    const d = weight.size;
    const dx = this.zeros(x.shape);
    const dweight = this.zeros([d]);
    rmsnormBackward(this.f(dy), this.f(x), this.f(weight), this.f(rstd), this.f(dx), this.f(dweight), x.size / d, d);
    return { dx, dweight };
  }

  layernorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): { y: Tensor; mean: Tensor; rstd: Tensor } {
    const d = weight.size;
    expectLastDim(x, d, 'layernorm');
    const rows = x.size / d;
    const y = this.zeros(x.shape);
    const mean = this.zeros([rows]);
    const rstd = this.zeros([rows]);
    layernormForward(this.f(x), this.f(weight), this.f(bias), this.f(y), this.f(mean), this.f(rstd), rows, d, eps);
    return { y, mean, rstd };
  }

  layernormBackward(
    dy: Tensor,
    x: Tensor,
    weight: Tensor,
    mean: Tensor,
    rstd: Tensor,
  ): { dx: Tensor; dweight: Tensor; dbias: Tensor } {
    const d = weight.size;
    const dx = this.zeros(x.shape);
    const dweight = this.zeros([d]);
    const dbias = this.zeros([d]);
    layernormBackward(
      this.f(dy),
      this.f(x),
      this.f(weight),
      this.f(mean),
      this.f(rstd),
      this.f(dx),
      this.f(dweight),
      this.f(dbias),
      x.size / d,
      d,
    );
    return { dx, dweight, dbias };
  }

  // ---- activations ----

  swiglu(gate: Tensor, up: Tensor): Tensor {
    expectSameSize(gate, up, 'swiglu');
    const y = this.zeros(gate.shape);
    swigluForward(this.f(gate), this.f(up), this.f(y), gate.size);
    return y;
  }

  swigluBackward(dy: Tensor, gate: Tensor, up: Tensor): { dgate: Tensor; dup: Tensor } {
    const dgate = this.zeros(gate.shape);
    const dup = this.zeros(up.shape);
    swigluBackward(this.f(dy), this.f(gate), this.f(up), this.f(dgate), this.f(dup), gate.size);
    return { dgate, dup };
  }

  gelu(x: Tensor): Tensor {
    const y = this.zeros(x.shape);
    geluForward(this.f(x), this.f(y), x.size);
    return y;
  }

  geluBackward(dy: Tensor, x: Tensor): Tensor {
    const dx = this.zeros(x.shape);
    geluBackward(this.f(dy), this.f(x), this.f(dx), x.size);
    return dx;
  }

  relu(x: Tensor): Tensor {
    const y = this.zeros(x.shape);
    reluForward(this.f(x), this.f(y), x.size);
    return y;
  }

  reluBackward(dy: Tensor, x: Tensor): Tensor {
    const dx = this.zeros(x.shape);
    reluBackward(this.f(dy), this.f(x), this.f(dx), x.size);
    return dx;
  }

  dropout(x: Tensor, rate: number, seed: Tensor, salt: number): Tensor {
    if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout: rate must be in [0, 1), got ${rate}`);
    const y = this.zeros(x.shape);
    dropoutForward(this.f(x), this.f(y), x.size, rate, dropoutKey(this.i(seed), salt >>> 0));
    return y;
  }

  rope(x: Tensor, positions: Tensor, base: number, inverse = false, blockPositions?: Tensor): Tensor {
    const { b, t, h, d } = ropeDims(x, positions, blockPositions);
    const y = this.zeros(x.shape);
    ropeForward(this.f(x), this.i(positions), this.f(y), b, t, h, d, base, inverse, blockPositions ? this.i(blockPositions) : null);
    return y;
  }

  // ---- attention ----

  attention(q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask, options: AttentionOptions): { out: Tensor; lse: Tensor } {
    const shape = this.attentionShape(q, k, v, mask, options);
    const out = this.zeros(q.shape);
    const lse = this.zeros([shape.b, shape.h, shape.tq]);
    attentionForward(
      this.f(q),
      this.f(k),
      this.f(v),
      this.maskArrays(mask),
      options.bias ? this.f(options.bias) : null,
      this.f(out),
      this.f(lse),
      shape,
    );
    return { out, lse };
  }

  attentionBackward(
    dout: Tensor,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    out: Tensor,
    lse: Tensor,
    mask: AttentionMask,
    options: AttentionOptions,
  ): { dq: Tensor; dk: Tensor; dv: Tensor; dbias?: Tensor } {
    const shape = this.attentionShape(q, k, v, mask, options);
    const dq = this.zeros(q.shape);
    const dk = this.zeros(k.shape);
    const dv = this.zeros(v.shape);
    const dbias = options.bias ? this.zeros(options.bias.shape) : undefined;
    attentionBackward(
      this.f(dout),
      this.f(q),
      this.f(k),
      this.f(v),
      this.f(out),
      this.f(lse),
      this.maskArrays(mask),
      options.bias ? this.f(options.bias) : null,
      this.f(dq),
      this.f(dk),
      this.f(dv),
      dbias ? this.f(dbias) : null,
      shape,
    );
    return dbias ? { dq, dk, dv, dbias } : { dq, dk, dv };
  }

  // ---- loss ----

  crossEntropy(logits: Tensor, targets: Tensor, lossMask: Tensor): { loss: Tensor; dlogits: Tensor } {
    const v = logits.shape[logits.shape.length - 1];
    const n = logits.size / v;
    if (targets.size !== n || lossMask.size !== n)
      throw new RangeError(
        `crossEntropy: logits ${shapeString(logits.shape)} need ${n} targets and mask values, got ${targets.size} and ${lossMask.size}`,
      );
    const loss = this.zeros([1]);
    const dlogits = this.zeros(logits.shape);
    const value = crossEntropyForwardBackward(this.f(logits), this.i(targets), this.f(lossMask), this.f(dlogits), n, v);
    this.f(loss)[0] = value;
    return { loss, dlogits };
  }

  // ---- optimizer ----

  sumOfSquares(tensors: readonly Tensor[]): Tensor {
    const out = this.zeros([1]);
    let total = 0;
    for (const t of tensors) total += sumOfSquares(this.f(t), t.size);
    this.f(out)[0] = total;
    return out;
  }

  clipByGlobalNorm(tensors: readonly Tensor[], sumSquares: Tensor, maxNorm: number): void {
    const s = clipScale(this.f(sumSquares)[0], maxNorm);
    if (s === 1) return;
    for (const t of tensors) {
      const view = this.f(t);
      for (let i = 0; i < t.size; i++) view[i] *= s;
    }
  }

  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, o: AdamWOptions): void {
    expectSameSize(param, grad, 'adamw');
    adamwUpdate(this.f(param), this.f(grad), this.f(m), this.f(v), param.size, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.step);
  }

  fillZero(t: Tensor): void {
    const tensor = this.own(t, 'fillZero');
    if (tensor.dtype === 'i32') this.storage.intView(tensor.slot, tensor.size).fill(0);
    else this.storage.floatView(tensor.slot, tensor.size).fill(0);
  }

  // ---- helpers ----

  private bytesPer(dtype: DType): number {
    return dtype === 'i32' ? 4 : this.storage.floatArray.BYTES_PER_ELEMENT;
  }

  private own(t: Tensor, op: string): ArrayTensor<Slot> {
    if (!(t instanceof ArrayTensor) || t.backend !== this.name)
      throw new TypeError(`${op}: tensor belongs to backend "${t.backend}", not "${this.name}"`);
    if (t.disposed) throw new Error(`${op}: tensor ${shapeString(t.shape)} was already disposed`);
    return t as ArrayTensor<Slot>;
  }

  private f(t: Tensor): FloatArray {
    const tensor = this.own(t, 'kernel');
    if (tensor.dtype !== 'f32') throw new TypeError(`expected a float tensor, got ${tensor.dtype} ${shapeString(t.shape)}`);
    return this.storage.floatView(tensor.slot, tensor.size);
  }

  private i(t: Tensor): Int32Array {
    const tensor = this.own(t, 'kernel');
    if (tensor.dtype !== 'i32') throw new TypeError(`expected an int tensor, got ${tensor.dtype} ${shapeString(t.shape)}`);
    return this.storage.intView(tensor.slot, tensor.size);
  }

  private maskArrays(mask: AttentionMask) {
    return { querySegments: this.i(mask.querySegments), keySegments: this.i(mask.keySegments), prefixEnd: this.i(mask.prefixEnd) };
  }

  private attentionShape(q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask, options: AttentionOptions): AttentionShape {
    return { ...attentionDims('attention', q, k, v, mask, options), scale: options.scale };
  }
}
