/// <reference types="@webgpu/types" />
import type { AdamWOptions, AttentionMask, AttentionOptions, Backend, MemoryStats } from '../../backend/backend.ts';
import { attentionDims, expectLastDim, expectSameSize, matmulDims, ropeDims } from '../../backend/shape-checks.ts';
import { checkCopy, shapeString, sizeOf, type DType, type Tensor } from '../../backend/tensor.ts';
import { dropoutKey } from '../../kernels/dropout.ts';
import { BufferPool } from './buffer-pool.ts';
import { CommandRecorder } from './command-recorder.ts';
import { BufferUsage, MapModeRead } from './gpu-constants.ts';
import { bindGroupLayoutEntries, FLAT, grid, kernelSource, packParams, paramsByteSize, type KernelSpec } from './kernel.ts';
import * as activations from './kernels/activations.ts';
import { adamw, clipByNorm, SUMSQ_GROUPS, sumSquaresFinal, sumSquaresPartial } from './kernels/adamw.ts';
import {
  attentionBackwardBias,
  attentionBackwardKV,
  attentionBackwardQ,
  attentionForward,
  attentionStats,
  attentionVariant,
} from './kernels/attention.ts';
import { COLUMN_CHUNK, columnSumFinal, columnSumPartial, type ColumnTerm } from './kernels/column-sum.ts';
import { crossEntropyCount, crossEntropyLoss, crossEntropyRows } from './kernels/cross-entropy.ts';
import { dropout as dropoutKernel } from './kernels/dropout.ts';
import * as elementwise from './kernels/elementwise.ts';
import { embeddingBackward, embeddingForward } from './kernels/embedding.ts';
import { layernormBackward, layernormForward } from './kernels/layernorm.ts';
import { matmulKernel, matmulTile, matmulVariant } from './kernels/matmul.ts';
import { rmsnormBackward, rmsnormForward, rowWorkgroupSize } from './kernels/rmsnorm.ts';
import { ropeKernel } from './kernels/rope.ts';

export interface WebGpuBackendOptions {
  /** Use subgroup reductions when the device has the `subgroups` feature (default true). */
  subgroups?: boolean;
  /**
   * Stage matmul tiles as f16 when the device has `shader-f16` (default false: f32 end to end, which is what the
   * parity tests hold to 1e-4). Products and sums stay f32, like bf16 autocast.
   */
  matmulF16?: boolean;
}

/** f32 tensors up to this many elements keep a host copy of values written from the host (see Block.host). */
const HOST_COPY_LIMIT = 1 << 16;

/**
 * GPU memory shared by a tensor and its reshaped views. `host` is a copy of the values as last written from the
 * host, kept for every i32 tensor (ids, targets, positions, mask descriptors: they only ever come from the host)
 * and for small f32 ones, and dropped as soon as a kernel writes the block in place. The backend reads it to check
 * ids and targets with the reference's messages and to plan work (embedding gradient grouping, RoPE tables).
 */
interface Block {
  buffer: GPUBuffer;
  capacity: number;
  bytes: number;
  handles: number;
  host: Float32Array | Int32Array | null;
  /** Just created, hence all zeros (WebGPU zero-initialises new buffers): `zeros` can skip clearing it. */
  zeroed: boolean;
}

class WebGpuTensor implements Tensor {
  disposed = false;
  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly size: number,
    readonly backend: string,
    readonly block: Block,
  ) {}
}

/** A storage binding: a tensor, or raw memory the backend owns (lookup tables, the empty placeholder). */
type Bindable = WebGpuTensor | { buffer: GPUBuffer; bytes: number };

interface Pipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

export class WebGpuDeviceLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebGpuDeviceLostError';
  }
}

/**
 * The WebGPU backend: tensors are GPU buffers, every op a WGSL compute kernel (kernels/, each beside its backward),
 * recorded into one command encoder that is submitted only when the host needs a value (`read`). A training step
 * therefore costs one submission per loss read-back plus one for the gradient norm.
 *
 * The backend receives a GPUDevice; acquiring one is the runtime's business (device.ts, and the Node/Deno adapters
 * at the edge). It owns the buffers it creates, never the device.
 */
export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  readonly limits: { maxStorageBufferBindingSize: number; maxBufferSize: number; maxComputeWorkgroupStorageSize: number };
  readonly subgroups: boolean;
  readonly matmulF16: boolean;
  private readonly recorder: CommandRecorder;
  private readonly pool: BufferPool;
  private readonly readbackPool: BufferPool;
  private readonly pipelines = new Map<string, Pipeline>();
  private readonly ropeTables = new Map<string, { minPos: number; maxPos: number; buffer: GPUBuffer; bytes: number }>();
  private readonly empty: { buffer: GPUBuffer; bytes: number };
  private live = 0;
  private liveBytes = 0;
  private lost: string | null = null;
  private firstError: string | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    readonly device: GPUDevice,
    options: WebGpuBackendOptions = {},
  ) {
    const l = device.limits;
    this.limits = {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    };
    this.subgroups = (options.subgroups ?? true) && device.features.has('subgroups');
    this.matmulF16 = (options.matmulF16 ?? false) && device.features.has('shader-f16');
    this.recorder = new CommandRecorder(device, l.minUniformBufferOffsetAlignment);
    this.pool = new BufferPool(device, BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST, l.maxBufferSize);
    this.readbackPool = new BufferPool(device, BufferUsage.MAP_READ | BufferUsage.COPY_DST, l.maxBufferSize);
    this.empty = { buffer: device.createBuffer({ size: 16, usage: BufferUsage.STORAGE }), bytes: 16 };
    device.lost.then((info) => {
      this.lost = `${info.reason}${info.message ? `: ${info.message}` : ''}`;
    });
    device.addEventListener('uncapturederror', (event) => {
      this.firstError ??= (event as GPUUncapturedErrorEvent).error.message;
    });
  }

  /** Submissions and dispatches so far (tests check that a step is a few submissions, benchmarks report them). */
  get counters(): { submits: number; dispatches: number } {
    return { submits: this.recorder.submits, dispatches: this.recorder.dispatches };
  }

  /** Release every buffer this backend holds. The device stays with its owner. */
  destroy(): void {
    this.recorder.submit();
    this.pool.trim();
    this.readbackPool.trim();
    this.recorder.destroy();
    for (const t of this.ropeTables.values()) t.buffer.destroy();
    this.ropeTables.clear();
    this.empty.buffer.destroy();
  }

  // ---- memory ----

  zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const t = this.alloc(shape, dtype, 'zeros');
    if (!t.block.zeroed) this.fill(t);
    if (dtype === 'i32' || t.size <= HOST_COPY_LIMIT) t.block.host = dtype === 'i32' ? new Int32Array(t.size) : new Float32Array(t.size);
    return t;
  }

  fromArray(data: Float32Array | Int32Array | number[], shape: readonly number[], dtype?: DType): Tensor {
    const type: DType = dtype ?? (data instanceof Int32Array ? 'i32' : 'f32');
    const t = this.alloc(shape, type, 'fromArray');
    if (data.length !== t.size)
      throw new RangeError(`${this.name}: ${data.length} values do not fill shape ${shapeString(shape)} (${t.size})`);
    this.write(t, type === 'i32' ? Int32Array.from(data) : data instanceof Float32Array ? data : Float32Array.from(data));
    return t;
  }

  async read(t: Tensor): Promise<Float32Array | Int32Array> {
    const tensor = this.own(t, 'read');
    this.check('read');
    const bytes = tensor.size * 4;
    if (bytes === 0) return tensor.dtype === 'i32' ? new Int32Array(0) : new Float32Array(0);
    const staging = this.guarded('read', () => {
      const s = this.readbackPool.acquire(bytes);
      this.recorder.commandEncoder().copyBufferToBuffer(tensor.block.buffer, 0, s.buffer, 0, bytes);
      return s;
    });
    await this.flushSoon();
    try {
      await staging.buffer.mapAsync(MapModeRead, 0, bytes);
    } catch (e) {
      await Promise.race([this.device.lost, new Promise((r) => setTimeout(r, 50))]);
      this.check('read');
      throw new WebGpuDeviceLostError(
        `read: the WebGPU device did not return ${shapeString(t.shape)} (${(e as Error).message}); it was most likely lost — ` +
          'tensors on it are gone, restart from the last checkpoint',
      );
    }
    const copy = staging.buffer.getMappedRange(0, bytes).slice(0);
    staging.buffer.unmap();
    this.readbackPool.release(staging.buffer, staging.capacity);
    this.check('read');
    return tensor.dtype === 'i32' ? new Int32Array(copy) : new Float32Array(copy);
  }

  write(t: Tensor, data: Float32Array | Int32Array): void {
    const tensor = this.own(t, 'write');
    if (data.length !== tensor.size)
      throw new RangeError(`${this.name}: write of ${data.length} values into ${shapeString(t.shape)}`);
    const block = tensor.block;
    const values = tensor.dtype === 'i32' ? (data instanceof Int32Array ? data : Int32Array.from(data)) : data instanceof Float32Array ? data : Float32Array.from(data);
    block.host = tensor.dtype === 'i32' || tensor.size <= HOST_COPY_LIMIT ? values.slice() : null;
    if (block.bytes > 0) this.guarded('write', () => this.upload(block, values));
  }

  private upload(block: Block, values: Float32Array | Int32Array): void {
    if (!this.recorder.pending) {
      // Nothing recorded yet that could touch this buffer: the queue write lands before the next submission.
      this.device.queue.writeBuffer(block.buffer, 0, values.buffer as ArrayBuffer, values.byteOffset, block.bytes);
      return;
    }
    // Commands already recorded may read this buffer (or its previous owner's data): copy in order, inside the
    // recording, from a staging buffer destroyed once submitted.
    const staging = this.device.createBuffer({ size: block.bytes, usage: BufferUsage.COPY_SRC, mappedAtCreation: true });
    const range = staging.getMappedRange();
    if (values instanceof Int32Array) new Int32Array(range).set(values);
    else new Float32Array(range).set(values);
    staging.unmap();
    this.recorder.commandEncoder().copyBufferToBuffer(staging, 0, block.buffer, 0, block.bytes);
    this.recorder.onSubmitted(() => staging.destroy());
  }

  dispose(t: Tensor): void {
    const tensor = this.own(t, 'dispose');
    tensor.disposed = true;
    this.live--;
    if (--tensor.block.handles > 0) return;
    this.liveBytes -= tensor.block.bytes;
    this.pool.release(tensor.block.buffer, tensor.block.capacity);
  }

  copyInto(dst: Tensor, src: Tensor, dstOffset: number): void {
    const to = this.own(dst, 'copyInto');
    const from = this.own(src, 'copyInto');
    checkCopy(to, from, dstOffset);
    if (from.size === 0) return;
    // Recorded in order with the kernels around it (a copy ends the open compute pass).
    this.guarded('copyInto', () => this.recorder.commandEncoder().copyBufferToBuffer(from.block.buffer, 0, to.block.buffer, dstOffset * 4, from.size * 4));
    const host = to.block.host;
    if (host && from.block.host) (host as Float32Array).set(from.block.host, dstOffset);
    else to.block.host = null;
  }

  reshape(t: Tensor, shape: readonly number[]): Tensor {
    const tensor = this.own(t, 'reshape');
    if (sizeOf(shape) !== tensor.size) throw new RangeError(`reshape: cannot view ${shapeString(t.shape)} as ${shapeString(shape)}`);
    tensor.block.handles++;
    this.live++;
    return new WebGpuTensor(shape.slice(), tensor.dtype, tensor.size, this.name, tensor.block);
  }

  memoryStats(): MemoryStats {
    let tables = 0;
    for (const t of this.ropeTables.values()) tables += t.bytes;
    return { liveTensors: this.live, liveBytes: this.liveBytes, reservedBytes: this.pool.reservedBytes + this.readbackPool.reservedBytes + tables };
  }

  // ---- linear algebra ----

  matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
    const { m, k, n, outShape } = matmulDims(a, b, transA, transB);
    const ta = this.f(a, 'matmul');
    const tb = this.f(b, 'matmul');
    const c = this.alloc(outShape, 'f32', 'matmul');
    if (m === 0 || n === 0) return c;
    const variant = matmulVariant(m, n, transA, transB, this.matmulF16);
    const { bm, bn, bk } = matmulTile(variant);
    this.run(matmulKernel(variant), { M: m, K: k, N: n, bk }, [ta, tb, c], [Math.ceil(n / bn), this.dim(Math.ceil(m / bm), 'matmul rows')]);
    return c;
  }

  addBias(x: Tensor, bias: Tensor): Tensor {
    const n = bias.size;
    expectLastDim(x, n, 'addBias');
    return this.flat(elementwise.addBias, { cols: n }, [this.f(x, 'addBias'), this.f(bias, 'addBias')], x.shape);
  }

  sumRows(dy: Tensor): Tensor {
    const n = dy.shape[dy.shape.length - 1];
    return this.columnSum('dy', [this.f(dy, 'sumRows')], dy.size / n, n);
  }

  // ---- elementwise ----

  add(a: Tensor, b: Tensor): Tensor {
    expectSameSize(a, b, 'add');
    return this.flat(elementwise.add, {}, [this.f(a, 'add'), this.f(b, 'add')], a.shape);
  }

  addInPlace(dst: Tensor, src: Tensor): void {
    expectSameSize(dst, src, 'addInPlace');
    this.inPlace(elementwise.addInto, {}, [this.f(dst, 'addInPlace'), this.f(src, 'addInPlace')], dst.size);
  }

  mul(a: Tensor, b: Tensor): Tensor {
    expectSameSize(a, b, 'mul');
    return this.flat(elementwise.mul, {}, [this.f(a, 'mul'), this.f(b, 'mul')], a.shape);
  }

  scale(x: Tensor, s: number): Tensor {
    return this.flat(elementwise.scale, { s }, [this.f(x, 'scale')], x.shape);
  }

  scaleBy(x: Tensor, s: Tensor): Tensor {
    return this.flat(elementwise.scaleBy, {}, [this.f(x, 'scaleBy'), this.f(s, 'scaleBy')], x.shape);
  }

  // ---- embedding ----

  embedding(ids: Tensor, table: Tensor): Tensor {
    const [v, d] = table.shape;
    const idv = this.ids(ids, 'embedding');
    for (let i = 0; i < idv.length; i++)
      if (idv[i] < 0 || idv[i] >= v) throw new RangeError(`embedding: token id ${idv[i]} at position ${i} is outside the vocabulary [0, ${v})`);
    const t = this.f(table, 'embedding');
    const y = this.alloc([...ids.shape, d], 'f32', 'embedding');
    if (y.size > 0) this.run(embeddingForward, { n: ids.size, d, v }, [this.own(ids, 'embedding'), t, y], grid(Math.ceil(y.size / FLAT)));
    return y;
  }

  embeddingBackward(ids: Tensor, dy: Tensor, vocabSize: number): Tensor {
    const d = dy.shape[dy.shape.length - 1];
    const idv = this.ids(ids, 'embeddingBackward');
    // Group positions by token (counting sort): csr = [offsets (V + 1) | positions in order].
    const csr = new Int32Array(vocabSize + 1 + idv.length);
    for (const id of idv) {
      if (id < 0 || id >= vocabSize) throw new RangeError(`embeddingBackward: token id ${id} is outside the vocabulary [0, ${vocabSize})`);
      csr[id + 1]++;
    }
    for (let v = 0; v < vocabSize; v++) csr[v + 1] += csr[v];
    const next = csr.slice(0, vocabSize);
    idv.forEach((id, i) => (csr[vocabSize + 1 + next[id]++] = i));
    const grads = this.f(dy, 'embeddingBackward');
    const dtable = this.alloc([vocabSize, d], 'f32', 'embeddingBackward');
    if (dtable.size === 0) return dtable;
    const groups = this.fromArray(csr, [csr.length], 'i32') as WebGpuTensor;
    this.run(embeddingBackward, { d, v: vocabSize }, [groups, grads, dtable], grid(Math.ceil(dtable.size / FLAT)));
    this.dispose(groups);
    return dtable;
  }

  // ---- normalisation ----

  rmsnorm(x: Tensor, weight: Tensor, eps: number): { y: Tensor; rstd: Tensor } {
    const d = weight.size;
    expectLastDim(x, d, 'rmsnorm');
    const rows = x.size / d;
    const [tx, tw] = [this.f(x, 'rmsnorm'), this.f(weight, 'rmsnorm')];
    const y = this.alloc(x.shape, 'f32', 'rmsnorm');
    const rstd = this.alloc([rows], 'f32', 'rmsnorm');
    if (rows > 0) this.run(rmsnormForward(rowWorkgroupSize(d), this.subgroups), { rows, d, eps }, [tx, tw, y, rstd], grid(rows));
    return { y, rstd };
  }

  rmsnormBackward(dy: Tensor, x: Tensor, weight: Tensor, rstd: Tensor): { dx: Tensor; dweight: Tensor } {
    const d = weight.size;
    const rows = x.size / d;
    const ins = [this.f(dy, 'rmsnormBackward'), this.f(x, 'rmsnormBackward'), this.f(weight, 'rmsnormBackward'), this.f(rstd, 'rmsnormBackward')];
    const dx = this.alloc(x.shape, 'f32', 'rmsnormBackward');
    if (rows > 0) this.run(rmsnormBackward(rowWorkgroupSize(d), this.subgroups), { rows, d }, [...ins, dx], grid(rows));
    const dweight = this.columnSum('rmsnorm', [ins[0], ins[1], ins[3]], rows, d);
    return { dx, dweight };
  }

  layernorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): { y: Tensor; mean: Tensor; rstd: Tensor } {
    const d = weight.size;
    expectLastDim(x, d, 'layernorm');
    const rows = x.size / d;
    const ins = [this.f(x, 'layernorm'), this.f(weight, 'layernorm'), this.f(bias, 'layernorm')];
    const y = this.alloc(x.shape, 'f32', 'layernorm');
    const mean = this.alloc([rows], 'f32', 'layernorm');
    const rstd = this.alloc([rows], 'f32', 'layernorm');
    if (rows > 0) this.run(layernormForward(rowWorkgroupSize(d), this.subgroups), { rows, d, eps }, [...ins, y, mean, rstd], grid(rows));
    return { y, mean, rstd };
  }

  layernormBackward(dy: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor): { dx: Tensor; dweight: Tensor; dbias: Tensor } {
    const d = weight.size;
    const rows = x.size / d;
    const op = 'layernormBackward';
    const [tdy, tx, tw, tm, ts] = [this.f(dy, op), this.f(x, op), this.f(weight, op), this.f(mean, op), this.f(rstd, op)];
    const dx = this.alloc(x.shape, 'f32', op);
    if (rows > 0) this.run(layernormBackward(rowWorkgroupSize(d), this.subgroups), { rows, d }, [tdy, tx, tw, tm, ts, dx], grid(rows));
    const dweight = this.columnSum('layernorm', [tdy, tx, tm, ts], rows, d);
    const dbias = this.columnSum('dy', [tdy], rows, d);
    return { dx, dweight, dbias };
  }

  // ---- activations ----

  swiglu(gate: Tensor, up: Tensor): Tensor {
    expectSameSize(gate, up, 'swiglu');
    return this.flat(activations.swigluForward, {}, [this.f(gate, 'swiglu'), this.f(up, 'swiglu')], gate.shape);
  }

  swigluBackward(dy: Tensor, gate: Tensor, up: Tensor): { dgate: Tensor; dup: Tensor } {
    const ins = [this.f(dy, 'swigluBackward'), this.f(gate, 'swigluBackward'), this.f(up, 'swigluBackward')];
    const dgate = this.alloc(gate.shape, 'f32', 'swigluBackward');
    const dup = this.alloc(up.shape, 'f32', 'swigluBackward');
    if (gate.size > 0) this.run(activations.swigluBackward, { n: gate.size }, [...ins, dgate, dup], grid(Math.ceil(gate.size / FLAT)));
    return { dgate, dup };
  }

  gelu(x: Tensor): Tensor {
    return this.flat(activations.geluForward, {}, [this.f(x, 'gelu')], x.shape);
  }

  geluBackward(dy: Tensor, x: Tensor): Tensor {
    return this.flat(activations.geluBackward, {}, [this.f(dy, 'geluBackward'), this.f(x, 'geluBackward')], x.shape);
  }

  relu(x: Tensor): Tensor {
    return this.flat(activations.reluForward, {}, [this.f(x, 'relu')], x.shape);
  }

  reluBackward(dy: Tensor, x: Tensor): Tensor {
    return this.flat(activations.reluBackward, {}, [this.f(dy, 'reluBackward'), this.f(x, 'reluBackward')], x.shape);
  }

  dropout(x: Tensor, rate: number, seed: Tensor, salt: number): Tensor {
    if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout: rate must be in [0, 1), got ${rate}`);
    const key = dropoutKey(this.ids(seed, 'dropout'), salt >>> 0);
    const threshold = Math.ceil(rate * 4294967296);
    return this.flat(
      dropoutKernel,
      { key, threshold: Math.min(threshold, 0xffffffff), keepNone: threshold > 0xffffffff ? 1 : 0, scale: 1 / (1 - rate) },
      [this.f(x, 'dropout')],
      x.shape,
    );
  }

  rope(x: Tensor, positions: Tensor, base: number, inverse = false, blockPositions?: Tensor): Tensor {
    const { b, t, h, d } = ropeDims(x, positions, blockPositions);
    const width = blockPositions ? d >> 1 : d;
    const pos = this.ids(positions, 'rope');
    const block = blockPositions ? this.ids(blockPositions, 'rope') : null;
    let minPos = 0;
    let maxPos = 0;
    for (const p of [pos, block ?? pos]) for (const v of p) (minPos = Math.min(minPos, v)), (maxPos = Math.max(maxPos, v));
    const table = this.ropeTable(base, width, minPos, maxPos);
    const tx = this.f(x, 'rope');
    const y = this.alloc(x.shape, 'f32', 'rope');
    const slots = b * t * h * Math.ceil(d / 2);
    if (slots > 0)
      this.run(
        ropeKernel,
        { bt: b * t, h, d, width, minPos: table.minPos, sign: inverse ? -1 : 1, twoD: block ? 1 : 0 },
        [tx, this.own(positions, 'rope'), this.own(blockPositions ?? positions, 'rope'), table, y],
        grid(Math.ceil(slots / FLAT)),
      );
    return y;
  }

  // ---- attention ----

  attention(q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask, options: AttentionOptions): { out: Tensor; lse: Tensor } {
    const s = this.attentionShape(q, k, v, mask, options);
    const ins = [this.f(q, 'attention'), this.f(k, 'attention'), this.f(v, 'attention')];
    const bias = options.bias ? this.f(options.bias, 'attention') : this.empty;
    const out = this.alloc(q.shape, 'f32', 'attention');
    const lse = this.alloc([s.b, s.h, s.tq], 'f32', 'attention');
    if (out.size === 0 || s.tk === 0) {
      // No keys: every query sees nothing, so out = 0 and lse = −∞ (the reference's convention).
      this.fill(out);
      if (lse.size > 0) this.write(lse, new Float32Array(lse.size).fill(-Infinity));
      return { out, lse };
    }
    const variant = attentionVariant(s.d, this.limits.maxComputeWorkgroupStorageSize, this.device.limits.maxComputeInvocationsPerWorkgroup);
    const packed = this.packMask(mask, s.b, s.tq, s.tk);
    this.run(attentionForward(variant), this.attentionParams(s, options, variant.t), [...ins, packed, bias, out, lse], [Math.ceil(s.tq / variant.t), s.h, s.b]);
    this.dispose(packed);
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
    const s = this.attentionShape(q, k, v, mask, options);
    const op = 'attentionBackward';
    const [tdout, tq, tk, tv, tout, tlse] = [dout, q, k, v, out, lse].map((t) => this.f(t, op));
    const bias = options.bias ? this.f(options.bias, op) : this.empty;
    const dq = this.alloc(q.shape, 'f32', op);
    const dk = this.alloc(k.shape, 'f32', op);
    const dv = this.alloc(v.shape, 'f32', op);
    const dbias = options.bias ? this.alloc(options.bias.shape, 'f32', op) : undefined;
    const grads = dbias ? { dq, dk, dv, dbias } : { dq, dk, dv };
    if (q.size === 0 || k.size === 0) {
      for (const g of [dq, dk, dv, dbias]) if (g && g.size > 0) this.fill(g);
      return grads;
    }
    const variant = attentionVariant(s.d, this.limits.maxComputeWorkgroupStorageSize, this.device.limits.maxComputeInvocationsPerWorkgroup);
    const params = this.attentionParams(s, options, variant.t);
    const packed = this.packMask(mask, s.b, s.tq, s.tk);
    const rows = s.b * s.h * s.tq;
    const stats = this.alloc([rows, 2], 'f32', op);
    this.run(attentionStats(s.d), { rows, Tq: s.tq, H: s.h }, [tout, tdout, tlse, stats], grid(Math.ceil(rows / FLAT)));
    const common = [tq, tk, tv, tdout, stats, packed, bias];
    const dkv = this.alloc([2, k.size], 'f32', op);
    this.run(attentionBackwardKV(variant), { ...params, kvSize: k.size }, [...common, dkv], [Math.ceil(s.tk / variant.t), s.hkv, s.b]);
    const encoder = this.recorder.commandEncoder();
    encoder.copyBufferToBuffer(dkv.block.buffer, 0, dk.block.buffer, 0, k.size * 4);
    encoder.copyBufferToBuffer(dkv.block.buffer, k.size * 4, dv.block.buffer, 0, k.size * 4);
    this.run(attentionBackwardQ(variant), params, [...common, dq], [Math.ceil(s.tq / variant.t), s.h, s.b]);
    if (dbias)
      this.run(attentionBackwardBias(variant), params, [...common, dbias], [Math.ceil(s.tk / variant.t), Math.ceil(s.tq / variant.t), s.h]);
    for (const t of [packed, stats, dkv]) this.dispose(t);
    return grads;
  }

  // ---- loss ----

  crossEntropy(logits: Tensor, targets: Tensor, lossMask: Tensor): { loss: Tensor; dlogits: Tensor } {
    const v = logits.shape[logits.shape.length - 1];
    const n = logits.size / v;
    if (targets.size !== n || lossMask.size !== n)
      throw new RangeError(
        `crossEntropy: logits ${shapeString(logits.shape)} need ${n} targets and mask values, got ${targets.size} and ${lossMask.size}`,
      );
    const tl = this.f(logits, 'crossEntropy');
    const tm = this.f(lossMask, 'crossEntropy');
    const tt = this.own(targets, 'crossEntropy');
    // Targets only matter where the mask weighs them; without a host copy of the mask the kernel marks a bad
    // weighted target with a NaN loss instead.
    const target = this.ids(targets, 'crossEntropy');
    const weights = tm.block.host;
    if (weights)
      for (let r = 0; r < n; r++)
        if (weights[r] !== 0 && (target[r] < 0 || target[r] >= v))
          throw new RangeError(`cross-entropy: target ${target[r]} at row ${r} is outside [0, ${v})`);
    const loss = this.alloc([1], 'f32', 'crossEntropy');
    const dlogits = this.alloc(logits.shape, 'f32', 'crossEntropy');
    if (n === 0) {
      this.fill(loss);
      return { loss, dlogits };
    }
    const count = this.alloc([1], 'f32', 'crossEntropy');
    const rowLoss = this.alloc([n], 'f32', 'crossEntropy');
    this.run(crossEntropyCount(this.subgroups), { n }, [tm, count], [1]);
    this.run(crossEntropyRows(this.subgroups), { n, v }, [tl, tt, tm, count, dlogits, rowLoss], grid(n));
    this.run(crossEntropyLoss(this.subgroups), { n }, [rowLoss, count, loss], [1]);
    this.dispose(count);
    this.dispose(rowLoss);
    return { loss, dlogits };
  }

  // ---- optimizer ----

  sumOfSquares(tensors: readonly Tensor[]): Tensor {
    const parts = tensors.map((t) => ({ t: this.f(t, 'sumOfSquares'), groups: Math.min(SUMSQ_GROUPS, Math.ceil(t.size / 256)) }));
    const total = parts.reduce((s, p) => s + p.groups, 0);
    const out = this.alloc([1], 'f32', 'sumOfSquares');
    if (total === 0) {
      this.fill(out);
      return out;
    }
    const partial = this.alloc([total], 'f32', 'sumOfSquares');
    let offset = 0;
    for (const { t, groups } of parts) {
      if (groups === 0) continue;
      this.run(sumSquaresPartial(this.subgroups), { n: t.size, offset }, [t, partial], [groups]);
      offset += groups;
    }
    this.run(sumSquaresFinal(this.subgroups), { n: total }, [partial, out], [1]);
    this.dispose(partial);
    return out;
  }

  clipByGlobalNorm(tensors: readonly Tensor[], sumSquares: Tensor, maxNorm: number): void {
    const ss = this.f(sumSquares, 'clipByGlobalNorm');
    for (const t of tensors) this.inPlace(clipByNorm, { maxNorm }, [this.f(t, 'clipByGlobalNorm'), ss], t.size);
  }

  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, o: AdamWOptions): void {
    expectSameSize(param, grad, 'adamw');
    const [tp, tg, tm, tv] = [param, grad, m, v].map((t) => this.f(t, 'adamw'));
    tm.block.host = null;
    tv.block.host = null;
    this.inPlace(
      adamw,
      {
        lr: o.lr,
        beta1: o.beta1,
        beta2: o.beta2,
        eps: o.eps,
        decay: 1 - o.lr * o.weightDecay,
        bc1: 1 - Math.pow(o.beta1, o.step),
        bc2: 1 - Math.pow(o.beta2, o.step),
      },
      [tp, tg, tm, tv],
      param.size,
    );
  }

  fillZero(t: Tensor): void {
    const tensor = this.own(t, 'fillZero');
    this.fill(tensor);
    tensor.block.host?.fill(0);
  }

  // ---- dispatch ----

  private alloc(shape: readonly number[], dtype: DType, op: string): WebGpuTensor {
    this.check(op);
    for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new RangeError(`${this.name}: invalid shape ${shapeString(shape)}`);
    const size = sizeOf(shape);
    const bytes = size * 4;
    if (bytes > this.limits.maxStorageBufferBindingSize)
      throw new RangeError(
        `${op}: a ${dtype} tensor ${shapeString(shape)} needs ${bytes} bytes, more than this GPU's maxStorageBufferBindingSize ` +
          `of ${this.limits.maxStorageBufferBindingSize} bytes; use a smaller batch, sequence or vocabulary (or the wasm backend)`,
      );
    const { buffer, capacity, fresh } = this.guarded(op, () => this.pool.acquire(bytes));
    const block: Block = { buffer, capacity, bytes, handles: 1, host: null, zeroed: fresh };
    this.live++;
    this.liveBytes += bytes;
    return new WebGpuTensor(shape.slice(), dtype, size, this.name, block);
  }

  private run(spec: KernelSpec, values: Record<string, number>, bindings: readonly Bindable[], workgroups: readonly number[]): void {
    this.check(spec.key);
    this.guarded(spec.key, () => this.encode(spec, values, bindings, workgroups));
  }

  private encode(spec: KernelSpec, values: Record<string, number>, bindings: readonly Bindable[], workgroups: readonly number[]): void {
    const { pipeline, layout } = this.pipeline(spec);
    const size = paramsByteSize(spec);
    const slot = this.recorder.uniform(size);
    packParams(spec, values, slot.view, slot.offset);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: slot.buffer, offset: slot.offset, size } }];
    bindings.forEach((b, i) => {
      const buffer = b instanceof WebGpuTensor ? b.block.buffer : b.buffer;
      const bytes = b instanceof WebGpuTensor ? b.block.bytes : b.bytes;
      entries.push({ binding: i + 1, resource: { buffer, offset: 0, size: Math.min(Math.max(16, bytes), buffer.size) } });
    });
    const pass = this.recorder.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({ layout, entries }));
    pass.dispatchWorkgroups(workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1);
    this.recorder.dispatches++;
  }

  private pipeline(spec: KernelSpec): Pipeline {
    const cached = this.pipelines.get(spec.key);
    if (cached) return cached;
    const layout = this.device.createBindGroupLayout({ entries: bindGroupLayoutEntries(spec) });
    const module = this.device.createShaderModule({ label: spec.key, code: kernelSource(spec) });
    const pipeline = this.device.createComputePipeline({
      label: spec.key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    const entry = { pipeline, layout };
    this.pipelines.set(spec.key, entry);
    return entry;
  }

  /** A new tensor from a flat kernel whose inputs are `ins` and whose one output (of `shape`) comes last. */
  private flat(spec: KernelSpec, values: Record<string, number>, ins: readonly WebGpuTensor[], shape: readonly number[]): Tensor {
    const y = this.alloc(shape, 'f32', spec.key);
    if (y.size > 0) this.run(spec, { n: y.size, ...values }, [...ins, y], grid(Math.ceil(y.size / FLAT)));
    return y;
  }

  /** A flat kernel that writes its first binding in place. */
  private inPlace(spec: KernelSpec, values: Record<string, number>, bindings: readonly WebGpuTensor[], n: number): void {
    bindings[0].block.host = null;
    if (n > 0) this.run(spec, { n, ...values }, bindings, grid(Math.ceil(n / FLAT)));
  }

  private fill(t: WebGpuTensor): void {
    if (t.size > 0) this.run(elementwise.fillZero, { n: t.size }, [t], grid(Math.ceil(t.size / FLAT)));
  }

  /** out[j] = Σ_r term(r, j) in two stages (kernels/column-sum.ts). */
  private columnSum(term: ColumnTerm, ins: readonly WebGpuTensor[], rows: number, cols: number): WebGpuTensor {
    const out = this.alloc([cols], 'f32', 'columnSum');
    if (cols === 0) return out;
    const chunks = Math.ceil(rows / COLUMN_CHUNK);
    const x = Math.ceil(cols / 256);
    if (chunks <= 1) {
      if (rows === 0) this.fill(out);
      else this.run(columnSumPartial(term), { rows, cols }, [...ins, out], [x, 1]);
      return out;
    }
    const partial = this.alloc([chunks, cols], 'f32', 'columnSum');
    this.run(columnSumPartial(term), { rows, cols }, [...ins, partial], [x, this.dim(chunks, 'column-sum row chunks')]);
    this.run(columnSumFinal, { chunks, cols }, [partial, out], [x]);
    this.dispose(partial);
    return out;
  }

  /** cos/sin of pos · base^(−2i/width) for pos in [minPos, maxPos], computed in float64 and cached. */
  private ropeTable(base: number, width: number, minPos: number, maxPos: number): { buffer: GPUBuffer; bytes: number; minPos: number } {
    const key = `${base}:${width}`;
    const cached = this.ropeTables.get(key);
    if (cached && cached.minPos <= minPos && cached.maxPos >= maxPos) return cached;
    // Grow to cover the union with some headroom, so longer sequences do not rebuild the table every step.
    const lo = Math.min(minPos, cached?.minPos ?? 0);
    const hi = Math.max(maxPos, cached?.maxPos ?? 0, 2 * maxPos, 64);
    const half = width >> 1;
    const data = new Float32Array(Math.max(2, (hi - lo + 1) * half * 2));
    for (let p = lo; p <= hi; p++)
      for (let i = 0; i < half; i++) {
        const angle = p * Math.pow(base, (-2 * i) / width);
        data[((p - lo) * half + i) * 2] = Math.cos(angle);
        data[((p - lo) * half + i) * 2 + 1] = Math.sin(angle);
      }
    if (data.byteLength > this.limits.maxStorageBufferBindingSize)
      throw new RangeError(`rope: positions ${lo}..${hi} need a ${data.byteLength}-byte table, over maxStorageBufferBindingSize`);
    const buffer = this.device.createBuffer({ size: data.byteLength, usage: BufferUsage.STORAGE | BufferUsage.COPY_DST, mappedAtCreation: true });
    new Float32Array(buffer.getMappedRange()).set(data);
    buffer.unmap();
    if (cached) {
      // Commands recorded earlier may still use the old table: destroy it once they are submitted.
      if (this.recorder.pending) this.recorder.onSubmitted(() => cached.buffer.destroy());
      else cached.buffer.destroy();
    }
    const table = { minPos: lo, maxPos: hi, buffer, bytes: data.byteLength };
    this.ropeTables.set(key, table);
    return table;
  }

  /** [querySegments | prefixEnd | keySegments] in one i32 buffer, from the descriptors' host copies. */
  private packMask(mask: AttentionMask, b: number, tq: number, tk: number): WebGpuTensor {
    const packed = new Int32Array(2 * b * tq + b * tk);
    packed.set(this.ids(mask.querySegments, 'attention'), 0);
    packed.set(this.ids(mask.prefixEnd, 'attention'), b * tq);
    packed.set(this.ids(mask.keySegments, 'attention'), 2 * b * tq);
    return this.fromArray(packed, [packed.length], 'i32') as WebGpuTensor;
  }

  private attentionParams(s: { b: number; tq: number; tk: number; h: number; hkv: number }, options: AttentionOptions, tile: number) {
    return { B: s.b, Tq: s.tq, Tk: s.tk, H: s.h, Hkv: s.hkv, group: s.h / s.hkv, scale: options.scale, hasBias: options.bias ? 1 : 0, tile };
  }

  private attentionShape(q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask, options: AttentionOptions) {
    return attentionDims('attention', q, k, v, mask, options);
  }

  /** Submit what is recorded once the current synchronous run of ops ends (reads issued together share it). */
  private flushSoon(): Promise<void> {
    this.flushing ??= Promise.resolve().then(() => {
      this.flushing = null;
      this.check('submit');
      this.guarded('submit', () => this.recorder.submit());
    });
    return this.flushing;
  }

  /**
   * Run WebGPU calls, turning an exception into a clean failure. Implementations differ on a lost device: Dawn
   * accepts calls and fails the next read-back, wgpu throws at once ("… is invalid") — before `device.lost` has
   * even resolved — so an exception here means the device stopped accepting work.
   */
  private guarded<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      this.check(op);
      throw new WebGpuDeviceLostError(
        `${op}: the WebGPU device stopped accepting work (${(e as Error).message}); it was most likely lost — ` +
          'tensors on it are gone, restart from the last checkpoint',
      );
    }
  }

  /** Fail cleanly once the device is gone or an earlier command was rejected. */
  private check(op: string): void {
    if (this.lost !== null)
      throw new WebGpuDeviceLostError(
        `${op}: the WebGPU device was lost (${this.lost}); tensors on it are gone — restart from the last checkpoint`,
      );
    if (this.firstError !== null) throw new Error(`${op}: an earlier WebGPU command failed: ${this.firstError}`);
  }

  private dim(n: number, what: string): number {
    if (n > 65535) throw new RangeError(`${this.name}: ${what} need ${n} workgroups in one dimension, over WebGPU's limit of 65535`);
    return n;
  }

  private own(t: Tensor, op: string): WebGpuTensor {
    if (!(t instanceof WebGpuTensor) || t.backend !== this.name)
      throw new TypeError(`${op}: tensor belongs to backend "${t.backend}", not "${this.name}"`);
    if (t.disposed) throw new Error(`${op}: tensor ${shapeString(t.shape)} was already disposed`);
    return t;
  }

  private f(t: Tensor, op: string): WebGpuTensor {
    const tensor = this.own(t, op);
    if (tensor.dtype !== 'f32') throw new TypeError(`${op}: expected a float tensor, got ${tensor.dtype} ${shapeString(t.shape)}`);
    return tensor;
  }

  /** The host copy of an i32 tensor's values (every i32 tensor has one: they are only ever written from the host). */
  private ids(t: Tensor, op: string): Int32Array {
    const tensor = this.own(t, op);
    if (tensor.dtype !== 'i32') throw new TypeError(`${op}: expected an int tensor, got ${tensor.dtype} ${shapeString(t.shape)}`);
    if (!tensor.block.host) throw new Error(`${op}: int tensor ${shapeString(t.shape)} has no host copy`);
    return tensor.block.host as Int32Array;
  }

}

/** A WebGPU backend on a device the caller acquired (and will destroy). */
export function createWebGpuBackend(device: GPUDevice, options: WebGpuBackendOptions = {}): WebGpuBackend {
  return new WebGpuBackend(device, options);
}
