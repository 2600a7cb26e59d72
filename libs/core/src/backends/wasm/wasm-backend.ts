import type { AdamWOptions, AttentionMask, AttentionOptions, Backend, MemoryStats } from '../../backend/backend.ts';
import { attentionDims, expectLastDim, expectSameSize, matmulDims, ropeDims } from '../../backend/shape-checks.ts';
import { checkCopy, shapeString, sizeOf, type DType, type Tensor } from '../../backend/tensor.ts';
import { clipScale } from '../../kernels/adamw.ts';
import { workerRuntime } from '../../workers/worker-runtime.ts';
import { loadWasmKernels, type KernelExports, type KernelVariant, type WasmKernels } from './kernels-loader.ts';
import { OP_ATTENTION_BACKWARD, OP_ATTENTION_FORWARD, OP_CROSS_ENTROPY, OP_MAP, OP_MATMUL, OP_MATMUL_FUSED, ThreadPool } from './thread-pool.ts';
import { wasmStorage, type WasmStorage } from './wasm-storage.ts';

export interface WasmBackendOptions {
  /**
   * Threads that run matmul, attention, cross-entropy and the elementwise kernels (the main thread plus threads - 1
   * workers). Default: the `UNILAB_THREADS` environment variable, else the machine's logical CPUs (at most 8). Any
   * count gives the same bits.
   */
  threads?: number;
  /**
   * Debug mode: check every float input of every op for NaN/±inf and throw naming the op and the input. Default: the
   * `UNILAB_CHECK_FINITE` environment variable is "1".
   */
  checkFinite?: boolean;
  /**
   * Precision of the linear layers' matmuls (`matmul`, `matmulAdd`, `swigluProjection`, forward and backward):
   * `f32` (the default), or `bf16-matmul`, mixed precision: both operands of every such product are rounded to
   * bfloat16 (round to nearest, ties to even) as the kernel packs them and the products are summed in f32
   * (kernels-rs/src/matmul.rs). Everything else stays f32: weights, optimizer moments, attention, norms, softmax,
   * the loss. Default: the `UNILAB_PRECISION` environment variable, else `f32`.
   */
  precision?: MatmulPrecision;
}

/** What the linear layers' matmuls compute in: f32, or bf16 operands with f32 sums (WasmBackendOptions.precision). */
export type MatmulPrecision = 'f32' | 'bf16-matmul';
export const MATMUL_PRECISIONS: readonly MatmulPrecision[] = ['f32', 'bf16-matmul'];

/** `value` as a MatmulPrecision, or an error naming `source` and the allowed values. */
export function parseMatmulPrecision(value: unknown, source: string): MatmulPrecision {
  if (typeof value === 'string' && (MATMUL_PRECISIONS as readonly string[]).includes(value)) return value as MatmulPrecision;
  throw new RangeError(`${source} must be one of ${MATMUL_PRECISIONS.map((p) => `"${p}"`).join(', ')}; got ${JSON.stringify(value)}`);
}

/** Memory shared by a tensor and its reshaped views; freed when the last handle is disposed. */
interface Block {
  ptr: number;
  handles: number;
}

class WasmTensor implements Tensor {
  disposed = false;
  readonly backend = 'wasm';
  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly size: number,
    readonly owner: WasmBackend,
    readonly block: Block,
  ) {}

  get ptr(): number {
    return this.block.ptr;
  }
}

/** Below this many multiply-adds a matmul runs on the calling thread alone (waking workers costs ~10-50 µs). */
const PARALLEL_MACS = 1 << 18;
/** kernels-rs/src/fused.rs's epilogues. */
const EPILOGUE_ADD = 1;
const EPILOGUE_SWIGLU = 2;
/** Elementwise kernels of kernels-rs/src/map.rs, run in blocks of elements on the pool. */
const MAP = { add: 1, addInPlace: 2, scale: 3, fillZero: 4, swiglu: 5, swigluBackward: 6, gelu: 7, geluBackward: 8, reluBackward: 9, adamw: 10, mul: 11 };
/** Elementwise ops on fewer elements run on the calling thread alone; blocks are at least this long. */
const MAP_BLOCK = 1 << 16;
/**
 * attention.rs's backward cuts a sequence of T query rows into ceil(T / BACKWARD_CHUNK_ROWS) chunks of whole 32-row
 * blocks, as even as they go, one unit each: bench-scale's T = 2,048 (batch 1, 3 heads) then gives 6 units instead of
 * 3, which two threads share evenly. Up to T = 1,024 nothing is cut, and dk and dv are exactly what one unit per
 * (batch, kv head) gives.
 */
const BACKWARD_CHUNK_ROWS = 1024;
/** Blocks of a split matmul are at least this wide: each block packs its share of the other operand again. */
const MIN_BLOCK = 256;

/**
 * The grid of blocks a matmul's C [m, n] is cut into: about four units per thread (so a thread that falls behind
 * delays the task by a fraction of it), the longer side split first, blocks a multiple of 8 and, when there is
 * enough work, at least MIN_BLOCK wide; then cut further (down to 64) until every thread gets the same number of
 * units. One thread: one block.
 */
function matmulGrid(m: number, n: number, threads: number) {
  const target = threads > 1 ? 4 * threads : 1;
  const cut = (len: number, want: number) => Math.max(1, Math.min(want, Math.ceil(len / MIN_BLOCK)));
  let [bm, bn] = n >= m ? [1, cut(n, target)] : [cut(m, target), 1];
  if (n >= m) bm = cut(m, Math.floor(target / bn));
  else bn = cut(n, Math.floor(target / bm));
  while (threads > 1 && (bm * bn) % threads !== 0 && bm * bn < 8 * threads) {
    if (m / (bm + 1) >= 64 && (m >= n || n / (bn + 1) < 64)) bm++;
    else if (n / (bn + 1) >= 64) bn++;
    else break;
  }
  const chunkM = Math.ceil(m / bm / 8) * 8 || 8;
  const chunkN = Math.ceil(n / bn / 8) * 8 || 8;
  const blocksN = Math.max(1, Math.ceil(n / chunkN));
  return { chunkM, chunkN, blocksN, units: Math.max(1, Math.ceil(m / chunkM)) * blocksN };
}

/**
 * The CPU backend: tensors live in the shared linear memory of the Rust kernels (kernels-rs/, SIMD128, relaxed-SIMD
 * FMA when the engine has it) and every op is one call into them on raw pointers; nothing is copied per op. Matmul,
 * attention, cross-entropy and the elementwise kernels are cut into units that a pool of workers shares with the
 * main thread (thread-pool.ts); results do not depend on the number of threads.
 */
export class WasmBackend implements Backend {
  readonly name = 'wasm';
  private readonly k: KernelExports;
  /** The kernels' `bf16` argument: 1 rounds the matmuls' operands to bf16. */
  private readonly bf16: number;
  private live = 0;
  private liveBytes = 0;
  /** RoPE cos/sin tables by rotated width and base (kernels-rs/src/rope.rs). */
  private readonly ropeTables = new Map<string, { ptr: number; len: number; positions: number }>();

  constructor(
    readonly kernels: WasmKernels,
    private readonly pool: ThreadPool,
    private readonly storage: WasmStorage,
    readonly checkFinite: boolean,
    readonly precision: MatmulPrecision = 'f32',
  ) {
    this.k = kernels.exports;
    this.bf16 = precision === 'bf16-matmul' ? 1 : 0;
    pool.ensureWorkspace(this.k.matmul_workspace());
  }

  get threads(): number {
    return this.pool.threads;
  }

  /** Stop the worker threads and release the backend's scratch memory (tensors stay readable). */
  close(): void {
    this.pool.close();
  }

  // ---- memory ----

  zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const t = this.alloc(shape, dtype);
    this.map(MAP.fillZero, [t.ptr], t.size);
    return t;
  }

  fromArray(data: Float32Array | Int32Array | number[], shape: readonly number[], dtype?: DType): Tensor {
    const type: DType = dtype ?? (data instanceof Int32Array ? 'i32' : 'f32');
    const t = this.alloc(shape, type);
    if (data.length !== t.size) {
      this.dispose(t);
      throw new RangeError(`wasm: ${data.length} values do not fill shape ${shapeString(shape)} (${t.size})`);
    }
    this.write(t, data instanceof Int32Array || data instanceof Float32Array ? data : Float32Array.from(data));
    return t;
  }

  async read(t: Tensor): Promise<Float32Array | Int32Array> {
    const tensor = this.own(t, 'read');
    return tensor.dtype === 'i32' ? this.i32(tensor).slice() : this.f32(tensor).slice();
  }

  write(t: Tensor, data: Float32Array | Int32Array): void {
    const tensor = this.own(t, 'write');
    if (data.length !== tensor.size) throw new RangeError(`wasm: write of ${data.length} values into ${shapeString(t.shape)}`);
    if (tensor.dtype === 'i32') this.i32(tensor).set(data);
    else this.f32(tensor).set(data);
  }

  dispose(t: Tensor): void {
    const tensor = this.own(t, 'dispose');
    tensor.disposed = true;
    this.live--;
    if (--tensor.block.handles > 0) return;
    this.storage.free(tensor.ptr, tensor.size);
    this.liveBytes -= tensor.size * 4;
  }

  copyInto(dst: Tensor, src: Tensor, dstOffset: number): void {
    const to = this.own(dst, 'copyInto');
    const from = this.own(src, 'copyInto');
    checkCopy(to, from, dstOffset);
    // Bits, whatever the dtype: one typed-array copy inside the shared linear memory.
    const memory = this.kernels.memory.buffer;
    new Uint32Array(memory, to.ptr, to.size).set(new Uint32Array(memory, from.ptr, from.size), dstOffset);
  }

  reshape(t: Tensor, shape: readonly number[]): Tensor {
    const tensor = this.own(t, 'reshape');
    if (sizeOf(shape) !== tensor.size) throw new RangeError(`reshape: cannot view ${shapeString(t.shape)} as ${shapeString(shape)}`);
    tensor.block.handles++;
    this.live++;
    return new WasmTensor(shape.slice(), tensor.dtype, tensor.size, this, tensor.block);
  }

  memoryStats(): MemoryStats {
    return { liveTensors: this.live, liveBytes: this.liveBytes, reservedBytes: this.storage.reservedBytes() };
  }

  // ---- linear algebra (kernels-rs/src/matmul.rs, bias.rs) ----

  matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
    const ta = this.float(a, 'matmul', 'a');
    const tb = this.float(b, 'matmul', 'b');
    const { m, k, n, outShape } = matmulDims(a, b, transA, transB);
    this.checkInputs('matmul', { a: ta, b: tb });
    const c = this.alloc(outShape);
    const g = matmulGrid(m, n, m * k * n >= PARALLEL_MACS ? this.pool.threads : 1);
    this.pool.run(OP_MATMUL, g.units, [ta.ptr, tb.ptr, c.ptr, m, k, n, +transA, +transB, 0, g.chunkM, g.chunkN, g.blocksN, this.bf16]);
    return c;
  }

  // ---- fused matmuls (kernels-rs/src/fused.rs): the epilogue runs on each block of C after its last slice ----

  matmulAdd(a: Tensor, b: Tensor, residual: Tensor, transA = false, transB = false): Tensor {
    const op = 'matmulAdd';
    const [ta, tb, tr] = [this.float(a, op, 'a'), this.float(b, op, 'b'), this.float(residual, op, 'residual')];
    const { m, k, n, outShape: shape } = matmulDims(a, b, transA, transB, op);
    if (residual.size !== m * n || residual.shape[residual.shape.length - 1] !== n)
      throw new RangeError(`${op}: the residual ${shapeString(residual.shape)} must have the product's shape ${shapeString(shape)}`);
    this.checkInputs(op, { a: ta, b: tb, residual: tr });
    const c = this.alloc(shape);
    const g = matmulGrid(m, n, m * k * n >= PARALLEL_MACS ? this.pool.threads : 1);
    this.pool.run(OP_MATMUL_FUSED, g.units, [ta.ptr, tb.ptr, c.ptr, m, k, n, +transA, +transB, g.chunkM, g.chunkN, g.blocksN, EPILOGUE_ADD, tr.ptr, 0, 0, 0, this.bf16]);
    return c;
  }

  swigluProjection(x: Tensor, wGate: Tensor, wUp: Tensor): { y: Tensor; gate: Tensor; up: Tensor } {
    const op = 'swigluProjection';
    const [tx, tg, tu] = [this.float(x, op, 'x'), this.float(wGate, op, 'wGate'), this.float(wUp, op, 'wUp')];
    if (wGate.shape.length !== wUp.shape.length || wGate.shape.some((d, i) => d !== wUp.shape[i]))
      throw new RangeError(`${op}: wGate ${shapeString(wGate.shape)} and wUp ${shapeString(wUp.shape)} must have one shape`);
    const { m, k, n, outShape: shape } = matmulDims(x, wGate, false, false, op);
    this.checkInputs(op, { x: tx, wGate: tg, wUp: tu });
    const [gate, up, y] = [this.alloc(shape), this.alloc(shape), this.alloc(shape)];
    const g = matmulGrid(m, n, 2 * m * k * n >= PARALLEL_MACS ? this.pool.threads : 1);
    this.pool.run(OP_MATMUL_FUSED, g.units, [tx.ptr, tg.ptr, up.ptr, m, k, n, 0, 0, g.chunkM, g.chunkN, g.blocksN, EPILOGUE_SWIGLU, 0, tu.ptr, gate.ptr, y.ptr, this.bf16]);
    return { y, gate, up };
  }

  addBias(x: Tensor, bias: Tensor): Tensor {
    const tx = this.float(x, 'addBias', 'x');
    const tb = this.float(bias, 'addBias', 'bias');
    const n = bias.size;
    expectLastDim(x, n, 'addBias', 'x');
    this.checkInputs('addBias', { x: tx, bias: tb });
    const y = this.alloc(x.shape);
    this.k.add_bias(tx.ptr, tb.ptr, y.ptr, sizeOf(x.shape.slice(0, -1)), n);
    return y;
  }

  sumRows(dy: Tensor): Tensor {
    const t = this.float(dy, 'sumRows', 'dy');
    const n = dy.shape[dy.shape.length - 1] ?? 1;
    this.checkInputs('sumRows', { dy: t });
    const out = this.alloc([n]);
    this.k.sum_rows(t.ptr, out.ptr, sizeOf(dy.shape.slice(0, -1)), n);
    return out;
  }

  // ---- elementwise (elementwise.rs) ----

  add(a: Tensor, b: Tensor): Tensor {
    const [ta, tb] = [this.float(a, 'add', 'a'), this.float(b, 'add', 'b')];
    expectSameSize(a, b, 'add');
    this.checkInputs('add', { a: ta, b: tb });
    const c = this.alloc(a.shape);
    this.map(MAP.add, [ta.ptr, tb.ptr, c.ptr], a.size);
    return c;
  }

  addInPlace(dst: Tensor, src: Tensor): void {
    const [td, ts] = [this.float(dst, 'addInPlace', 'dst'), this.float(src, 'addInPlace', 'src')];
    expectSameSize(dst, src, 'addInPlace');
    this.checkInputs('addInPlace', { dst: td, src: ts });
    this.map(MAP.addInPlace, [td.ptr, ts.ptr], dst.size);
  }

  mul(a: Tensor, b: Tensor): Tensor {
    const [ta, tb] = [this.float(a, 'mul', 'a'), this.float(b, 'mul', 'b')];
    expectSameSize(a, b, 'mul');
    this.checkInputs('mul', { a: ta, b: tb });
    const c = this.alloc(a.shape);
    this.map(MAP.mul, [ta.ptr, tb.ptr, c.ptr], a.size);
    return c;
  }

  scale(x: Tensor, s: number): Tensor {
    const tx = this.float(x, 'scale', 'x');
    this.checkInputs('scale', { x: tx });
    const y = this.alloc(x.shape);
    this.map(MAP.scale, [tx.ptr, y.ptr], x.size, [s]);
    return y;
  }

  scaleBy(x: Tensor, s: Tensor): Tensor {
    const [tx, tsc] = [this.float(x, 'scaleBy', 'x'), this.float(s, 'scaleBy', 's')];
    if (s.size !== 1) throw new RangeError(`scaleBy: s must hold one value, got ${shapeString(s.shape)}`);
    this.checkInputs('scaleBy', { x: tx, s: tsc });
    const y = this.alloc(x.shape);
    // The scalar lives in the same memory: reading it is not a device readback.
    this.map(MAP.scale, [tx.ptr, y.ptr], x.size, [this.f32(tsc)[0]]);
    return y;
  }

  // ---- embedding (embedding.rs) ----

  embedding(ids: Tensor, table: Tensor): Tensor {
    const [ti, tt] = [this.int(ids, 'embedding', 'ids'), this.float(table, 'embedding', 'table')];
    if (table.shape.length !== 2) throw new RangeError(`embedding: table must be [V, D], got ${shapeString(table.shape)}`);
    const [v, d] = table.shape;
    this.checkInputs('embedding', { table: tt });
    const y = this.alloc([...ids.shape, d]);
    const bad = this.k.embedding_forward(ti.ptr, tt.ptr, y.ptr, ids.size, d, v);
    if (bad >= 0) {
      this.dispose(y);
      throw new RangeError(`embedding: token id ${this.i32(ti)[bad]} at position ${bad} is outside the vocabulary [0, ${v})`);
    }
    return y;
  }

  embeddingBackward(ids: Tensor, dy: Tensor, vocabSize: number): Tensor {
    const [ti, td] = [this.int(ids, 'embeddingBackward', 'ids'), this.float(dy, 'embeddingBackward', 'dy')];
    const d = dy.shape[dy.shape.length - 1] ?? 1;
    if (dy.size !== ids.size * d)
      throw new RangeError(`embeddingBackward: dy ${shapeString(dy.shape)} does not match ids ${shapeString(ids.shape)}`);
    this.checkInputs('embeddingBackward', { dy: td });
    const dtable = this.alloc([vocabSize, d]);
    const bad = this.k.embedding_backward(ti.ptr, td.ptr, dtable.ptr, ids.size, d, vocabSize);
    if (bad >= 0) {
      this.dispose(dtable);
      throw new RangeError(`embeddingBackward: token id ${this.i32(ti)[bad]} at position ${bad} is outside the vocabulary [0, ${vocabSize})`);
    }
    return dtable;
  }

  // ---- normalisation (rmsnorm.rs, layernorm.rs) ----

  rmsnorm(x: Tensor, weight: Tensor, eps: number): { y: Tensor; rstd: Tensor } {
    const [tx, tw] = [this.float(x, 'rmsnorm', 'x'), this.float(weight, 'rmsnorm', 'weight')];
    const d = weight.size;
    expectLastDim(x, d, 'rmsnorm', 'x');
    this.checkInputs('rmsnorm', { x: tx, weight: tw });
    const rows = sizeOf(x.shape.slice(0, -1));
    const y = this.alloc(x.shape);
    const rstd = this.alloc([rows]);
    this.k.rmsnorm_forward(tx.ptr, tw.ptr, y.ptr, rstd.ptr, rows, d, eps);
    return { y, rstd };
  }

  rmsnormBackward(dy: Tensor, x: Tensor, weight: Tensor, rstd: Tensor): { dx: Tensor; dweight: Tensor } {
    const op = 'rmsnormBackward';
    const [tdy, tx, tw, tr] = [this.float(dy, op, 'dy'), this.float(x, op, 'x'), this.float(weight, op, 'weight'), this.float(rstd, op, 'rstd')];
    const d = weight.size;
    expectLastDim(x, d, op, 'x');
    expectSameSize(dy, x, op);
    if (rstd.size * d !== x.size) throw new RangeError(`${op}: rstd ${shapeString(rstd.shape)} does not match x ${shapeString(x.shape)}`);
    this.checkInputs(op, { dy: tdy, x: tx, weight: tw, rstd: tr });
    const dx = this.alloc(x.shape);
    const dweight = this.alloc([d]);
    this.k.rmsnorm_backward(tdy.ptr, tx.ptr, tw.ptr, tr.ptr, dx.ptr, dweight.ptr, rstd.size, d);
    return { dx, dweight };
  }

  layernorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): { y: Tensor; mean: Tensor; rstd: Tensor } {
    const op = 'layernorm';
    const [tx, tw, tb] = [this.float(x, op, 'x'), this.float(weight, op, 'weight'), this.float(bias, op, 'bias')];
    const d = weight.size;
    expectLastDim(x, d, op, 'x');
    if (bias.size !== d) throw new RangeError(`${op}: bias ${shapeString(bias.shape)} must be [${d}]`);
    this.checkInputs(op, { x: tx, weight: tw, bias: tb });
    const rows = sizeOf(x.shape.slice(0, -1));
    const y = this.alloc(x.shape);
    const mean = this.alloc([rows]);
    const rstd = this.alloc([rows]);
    this.k.layernorm_forward(tx.ptr, tw.ptr, tb.ptr, y.ptr, mean.ptr, rstd.ptr, rows, d, eps);
    return { y, mean, rstd };
  }

  layernormBackward(dy: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor): { dx: Tensor; dweight: Tensor; dbias: Tensor } {
    const op = 'layernormBackward';
    const [tdy, tx, tw] = [this.float(dy, op, 'dy'), this.float(x, op, 'x'), this.float(weight, op, 'weight')];
    const [tm, tr] = [this.float(mean, op, 'mean'), this.float(rstd, op, 'rstd')];
    const d = weight.size;
    expectLastDim(x, d, op, 'x');
    expectSameSize(dy, x, op);
    if (rstd.size * d !== x.size || mean.size !== rstd.size)
      throw new RangeError(`${op}: mean ${shapeString(mean.shape)} and rstd ${shapeString(rstd.shape)} do not match x ${shapeString(x.shape)}`);
    this.checkInputs(op, { dy: tdy, x: tx, weight: tw, mean: tm, rstd: tr });
    const dx = this.alloc(x.shape);
    const dweight = this.alloc([d]);
    const dbias = this.alloc([d]);
    this.k.layernorm_backward(tdy.ptr, tx.ptr, tw.ptr, tm.ptr, tr.ptr, dx.ptr, dweight.ptr, dbias.ptr, rstd.size, d);
    return { dx, dweight, dbias };
  }

  // ---- activations (swiglu.rs, gelu.rs, relu.rs, dropout.rs) ----

  swiglu(gate: Tensor, up: Tensor): Tensor {
    const [tg, tu] = [this.float(gate, 'swiglu', 'gate'), this.float(up, 'swiglu', 'up')];
    expectSameSize(gate, up, 'swiglu');
    this.checkInputs('swiglu', { gate: tg, up: tu });
    const y = this.alloc(gate.shape);
    this.map(MAP.swiglu, [tg.ptr, tu.ptr, y.ptr], gate.size);
    return y;
  }

  swigluBackward(dy: Tensor, gate: Tensor, up: Tensor): { dgate: Tensor; dup: Tensor } {
    const op = 'swigluBackward';
    const [tdy, tg, tu] = [this.float(dy, op, 'dy'), this.float(gate, op, 'gate'), this.float(up, op, 'up')];
    expectSameSize(gate, up, op);
    expectSameSize(dy, gate, op);
    this.checkInputs(op, { dy: tdy, gate: tg, up: tu });
    const dgate = this.alloc(gate.shape);
    const dup = this.alloc(up.shape);
    this.map(MAP.swigluBackward, [tdy.ptr, tg.ptr, tu.ptr, dgate.ptr, dup.ptr], gate.size);
    return { dgate, dup };
  }

  gelu(x: Tensor): Tensor {
    const tx = this.float(x, 'gelu', 'x');
    this.checkInputs('gelu', { x: tx });
    const y = this.alloc(x.shape);
    this.map(MAP.gelu, [tx.ptr, y.ptr], x.size);
    return y;
  }

  geluBackward(dy: Tensor, x: Tensor): Tensor {
    const [tdy, tx] = [this.float(dy, 'geluBackward', 'dy'), this.float(x, 'geluBackward', 'x')];
    expectSameSize(dy, x, 'geluBackward');
    this.checkInputs('geluBackward', { dy: tdy, x: tx });
    const dx = this.alloc(x.shape);
    this.map(MAP.geluBackward, [tdy.ptr, tx.ptr, dx.ptr], x.size);
    return dx;
  }

  relu(x: Tensor): Tensor {
    const tx = this.float(x, 'relu', 'x');
    this.checkInputs('relu', { x: tx });
    const y = this.alloc(x.shape);
    this.map(MAP.reluBackward, [tx.ptr, tx.ptr, y.ptr], x.size); // relu(x) = reluBackward(dy = x, x)
    return y;
  }

  reluBackward(dy: Tensor, x: Tensor): Tensor {
    const [tdy, tx] = [this.float(dy, 'reluBackward', 'dy'), this.float(x, 'reluBackward', 'x')];
    expectSameSize(dy, x, 'reluBackward');
    this.checkInputs('reluBackward', { dy: tdy, x: tx });
    const dx = this.alloc(x.shape);
    this.map(MAP.reluBackward, [tdy.ptr, tx.ptr, dx.ptr], x.size);
    return dx;
  }

  dropout(x: Tensor, rate: number, seed: Tensor, salt: number): Tensor {
    const [tx, ts] = [this.float(x, 'dropout', 'x'), this.int(seed, 'dropout', 'seed')];
    if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout: rate must be in [0, 1), got ${rate}`);
    this.checkInputs('dropout', { x: tx });
    const y = this.alloc(x.shape);
    const key = this.k.dropout_key(ts.ptr, seed.size, salt >>> 0);
    // Keep iff hash >= rate·2^32, i.e. hash >= ceil(rate·2^32); past 2^32 - 1 nothing survives.
    const threshold = Math.ceil(rate * 4294967296);
    const none = threshold > 4294967295;
    this.k.dropout(tx.ptr, y.ptr, x.size, key, none ? 4294967295 : threshold, none ? 0 : 1 / (1 - rate));
    return y;
  }

  // ---- rotary embedding (rope.rs) ----

  rope(x: Tensor, positions: Tensor, base: number, inverse = false, blockPositions?: Tensor): Tensor {
    const tx = this.float(x, 'rope', 'x');
    const tp = this.int(positions, 'rope', 'positions');
    const tbp = blockPositions ? this.int(blockPositions, 'rope', 'blockPositions') : undefined;
    const { b, t, h, d } = ropeDims(x, positions, blockPositions);
    this.checkInputs('rope', { x: tx });
    const width = blockPositions ? d / 2 : d;
    const table = this.ropeTable(width, base, t);
    const y = this.alloc(x.shape);
    this.k.rope(tx.ptr, tp.ptr, tbp ? tbp.ptr : 0, y.ptr, b * t, h, d, table.ptr, table.positions, base, +inverse, table.ptr + table.positions * 2 * (width & ~1) * 4);
    return y;
  }

  /** The cos/sin table of positions [0, t) (or more) for this width and base, plus one scratch row. */
  private ropeTable(width: number, base: number, t: number) {
    const key = `${width}:${base}`;
    let table = this.ropeTables.get(key);
    if (!table || table.positions < t) {
      if (table) this.kernels.freeF32(table.ptr, table.len);
      const positions = Math.max(t, 1);
      const len = (positions + 1) * 2 * (width & ~1);
      table = { ptr: this.kernels.allocF32(len), len, positions };
      this.k.rope_table(table.ptr, positions, width, base);
      this.ropeTables.set(key, table);
    }
    return table;
  }

  // ---- attention (attention.rs) ----

  attention(q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask, options: AttentionOptions): { out: Tensor; lse: Tensor } {
    const a = this.attentionArgs('attention', q, k, v, mask, options);
    const out = this.alloc(q.shape);
    const lse = this.alloc([a.b, a.h, a.tq]);
    this.pool.ensureWorkspace(this.k.attention_workspace(a.tq, a.tk, a.d, 0));
    const ptrs = [a.q, a.k, a.v, out.ptr, lse.ptr, a.qseg, a.kseg, a.prefixEnd, a.bias, 0, 0, 0, 0, 0, 0];
    // A unit is a (batch, kv head) pair over a chunk of the query rows. Long sequences come in small batches (bench-scale's
    // T = 2,048 is 1 × 3 pairs): cut the rows until every thread has about four units to claim, the longest first, so
    // two threads are not left with 2 + 1. Each row is computed whole by one unit, so the chunks change no bit.
    const pairs = a.b * a.hkv;
    const qChunks = pairs > 0 && pairs < 4 * this.pool.threads && this.pool.threads > 1 ? Math.min(Math.ceil((4 * this.pool.threads) / pairs), a.tq) : 1;
    this.pool.run(OP_ATTENTION_FORWARD, pairs * qChunks, [...ptrs, a.b, a.tq, a.tk, a.h, a.hkv, a.d, qChunks], [options.scale]);
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
    const op = 'attentionBackward';
    const a = this.attentionArgs(op, q, k, v, mask, options);
    const [tdout, tout, tlse] = [this.float(dout, op, 'dout'), this.float(out, op, 'out'), this.float(lse, op, 'lse')];
    if (dout.size !== q.size || out.size !== q.size)
      throw new RangeError(`${op}: dout ${shapeString(dout.shape)} and out ${shapeString(out.shape)} must match q ${shapeString(q.shape)}`);
    if (lse.size !== a.b * a.h * a.tq) throw new RangeError(`${op}: lse must be [${a.b}, ${a.h}, ${a.tq}], got ${shapeString(lse.shape)}`);
    // lse is -inf for queries that see nothing: check only dout and out.
    this.checkInputs(op, { dout: tdout, out: tout });
    const dq = this.alloc(q.shape);
    const dk = this.alloc(k.shape);
    const dv = this.alloc(v.shape);
    const dbias = options.bias ? this.zeros(options.bias.shape) : undefined;
    this.pool.ensureWorkspace(this.k.attention_workspace(a.tq, a.tk, a.d, 1));
    // A unit is a (batch, kv head) pair over a chunk of the query rows (BACKWARD_CHUNK_ROWS: more units for the long
    // sequences that come in small batches); the chunks' shares of dk and dv are added in chunk order after. The cut
    // follows the shape alone, never the thread count: every count of threads gives the same bits. With a bias, dbias
    // sums over the batch: one unit per kv head owns each of its elements.
    const qChunks = options.bias ? 1 : Math.max(1, Math.ceil(a.tq / BACKWARD_CHUNK_ROWS));
    const partials = qChunks > 1 ? this.alloc([2 * (qChunks - 1), k.size]) : undefined;
    const ptrs = [a.q, a.k, a.v, tout.ptr, tlse.ptr, a.qseg, a.kseg, a.prefixEnd, a.bias, tdout.ptr, dq.ptr, dk.ptr, dv.ptr, dbias ? (dbias as WasmTensor).ptr : 0];
    const units = options.bias ? a.hkv : a.b * a.hkv * qChunks;
    this.pool.run(OP_ATTENTION_BACKWARD, a.b === 0 ? 0 : units, [...ptrs, partials?.ptr ?? 0, a.b, a.tq, a.tk, a.h, a.hkv, a.d, qChunks], [options.scale]);
    if (partials) {
      for (let c = 1; c < qChunks; c++) {
        this.map(MAP.addInPlace, [dk.ptr, partials.ptr + 4 * (2 * c - 2) * k.size], k.size);
        this.map(MAP.addInPlace, [dv.ptr, partials.ptr + 4 * (2 * c - 1) * k.size], k.size);
      }
      this.map(MAP.scale, [dk.ptr, dk.ptr], k.size, [options.scale]);
      this.dispose(partials);
    }
    return dbias ? { dq, dk, dv, dbias } : { dq, dk, dv };
  }

  private attentionArgs(op: string, q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask, options: AttentionOptions) {
    const [tq, tk, tv] = [this.float(q, op, 'q'), this.float(k, op, 'k'), this.float(v, op, 'v')];
    const qseg = this.int(mask.querySegments, op, 'mask.querySegments');
    const kseg = this.int(mask.keySegments, op, 'mask.keySegments');
    const prefixEnd = this.int(mask.prefixEnd, op, 'mask.prefixEnd');
    const bias = options.bias ? this.float(options.bias, op, 'bias') : undefined;
    const { b, tq: tqLen, tk: tkLen, h, hkv, d } = attentionDims(op, q, k, v, mask, options);
    this.checkInputs(op, bias ? { q: tq, k: tk, v: tv, bias } : { q: tq, k: tk, v: tv });
    return {
      ...{ q: tq.ptr, k: tk.ptr, v: tv.ptr, qseg: qseg.ptr, kseg: kseg.ptr, prefixEnd: prefixEnd.ptr, bias: bias ? bias.ptr : 0 },
      ...{ b, tq: tqLen, tk: tkLen, h, hkv, d },
    };
  }

  // ---- loss (cross_entropy.rs) ----

  crossEntropy(logits: Tensor, targets: Tensor, lossMask: Tensor): { loss: Tensor; dlogits: Tensor } {
    const op = 'crossEntropy';
    const [tl, tt, tm] = [this.float(logits, op, 'logits'), this.int(targets, op, 'targets'), this.float(lossMask, op, 'lossMask')];
    const v = logits.shape[logits.shape.length - 1] ?? 1;
    const n = sizeOf(logits.shape.slice(0, -1));
    if (targets.size !== n || lossMask.size !== n)
      throw new RangeError(`${op}: logits ${shapeString(logits.shape)} need ${n} targets and mask values, got ${targets.size} and ${lossMask.size}`);
    this.checkInputs(op, { logits: tl, lossMask: tm });
    const count = this.k.cross_entropy_count(tm.ptr, n);
    const norm = count > 0 ? 1 / count : 0;
    const loss = this.alloc([1]);
    const dlogits = this.alloc(logits.shape);
    // Per-row losses (f64) and the error word (i32) in one scratch block.
    const scratch = this.alloc([2 * n + 4]);
    const error = scratch.ptr + 8 * n;
    this.i32view(error, 1)[0] = 0;
    // Rows are independent: any cut gives the same bits. Small inputs stay on this thread.
    const rowsPerUnit = v * n >= PARALLEL_MACS ? Math.max(16, Math.ceil(n / (this.pool.threads * 4))) : Math.max(1, n);
    this.pool.run(OP_CROSS_ENTROPY, Math.ceil(n / rowsPerUnit), [tl.ptr, tt.ptr, tm.ptr, dlogits.ptr, scratch.ptr, error, n, v, rowsPerUnit], [norm]);
    const bad = this.i32view(error, 1)[0] - 1;
    if (bad >= 0) {
      const target = this.i32(tt)[bad];
      for (const t of [loss, dlogits, scratch]) this.dispose(t);
      throw new RangeError(`cross-entropy: target ${target} at row ${bad} is outside [0, ${v})`);
    }
    this.f32(loss)[0] = this.k.cross_entropy_reduce(scratch.ptr, n, norm);
    this.dispose(scratch);
    return { loss, dlogits };
  }

  // ---- optimizer (adamw.rs, grad_norm.rs) ----

  sumOfSquares(tensors: readonly Tensor[]): Tensor {
    const ts = tensors.map((t, i) => this.float(t, 'sumOfSquares', `tensors[${i}]`));
    this.checkInputs('sumOfSquares', Object.fromEntries(ts.map((t, i) => [`tensors[${i}]`, t])));
    let total = 0;
    for (const t of ts) total += this.k.sum_of_squares(t.ptr, t.size);
    const out = this.alloc([1]);
    this.f32(out)[0] = total;
    return out;
  }

  clipByGlobalNorm(tensors: readonly Tensor[], sumSquares: Tensor, maxNorm: number): void {
    const ts = tensors.map((t, i) => this.float(t, 'clipByGlobalNorm', `tensors[${i}]`));
    const s = clipScale(this.f32(this.float(sumSquares, 'clipByGlobalNorm', 'sumSquares'))[0], maxNorm);
    if (s === 1) return;
    for (const t of ts) this.map(MAP.scale, [t.ptr, t.ptr], t.size, [s]);
  }

  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, o: AdamWOptions): void {
    const op = 'adamw';
    const [tp, tg, tm, tv] = [this.float(param, op, 'param'), this.float(grad, op, 'grad'), this.float(m, op, 'm'), this.float(v, op, 'v')];
    expectSameSize(param, grad, op);
    expectSameSize(param, m, op);
    expectSameSize(param, v, op);
    this.checkInputs(op, { param: tp, grad: tg, m: tm, v: tv });
    const bc1 = 1 - Math.pow(o.beta1, o.step);
    const bc2 = 1 - Math.pow(o.beta2, o.step);
    this.map(MAP.adamw, [tp.ptr, tg.ptr, tm.ptr, tv.ptr], param.size, [o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, bc1, bc2]);
  }

  fillZero(t: Tensor): void {
    const tensor = this.own(t, 'fillZero');
    this.map(MAP.fillZero, [tensor.ptr], tensor.size);
  }

  // ---- helpers ----

  /**
   * Run elementwise kernel `kernel` of map.rs on `n` elements of the arrays at `ptrs` (all n long), in blocks on the
   * pool when there are enough elements. The block cut never changes a result: each element is computed alone.
   */
  private map(kernel: number, ptrs: readonly number[], n: number, floats: readonly number[] = []): void {
    const parallel = this.pool.threads > 1 && n >= 2 * MAP_BLOCK;
    const chunk = parallel ? Math.max(MAP_BLOCK, Math.ceil(n / (4 * this.pool.threads) / 4) * 4) : Math.max(1, n);
    const p = [0, 1, 2, 3, 4].map((i) => ptrs[i] ?? 0);
    this.pool.run(OP_MAP, Math.ceil(n / chunk), [kernel, ...p, n, chunk], floats);
  }

  /** A tensor whose contents the caller overwrites completely (no zero fill). */
  private alloc(shape: readonly number[], dtype: DType = 'f32'): WasmTensor {
    for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new RangeError(`wasm: invalid shape ${shapeString(shape)}`);
    const size = sizeOf(shape);
    const ptr = this.storage.allocate(size);
    this.live++;
    this.liveBytes += size * 4;
    return new WasmTensor(shape.slice(), dtype, size, this, { ptr, handles: 1 });
  }

  private own(t: Tensor, op: string): WasmTensor {
    if (!(t instanceof WasmTensor) || t.owner !== this)
      throw new TypeError(`${op}: tensor ${shapeString(t.shape)} belongs to another backend ("${t.backend}"), not this wasm backend`);
    if (t.disposed) throw new Error(`${op}: tensor ${shapeString(t.shape)} was already disposed`);
    return t;
  }

  private float(t: Tensor, op: string, input: string): WasmTensor {
    const tensor = this.own(t, op);
    if (tensor.dtype !== 'f32') throw new TypeError(`${op}: ${input} must be a float tensor, got ${tensor.dtype} ${shapeString(t.shape)}`);
    return tensor;
  }

  private int(t: Tensor, op: string, input: string): WasmTensor {
    const tensor = this.own(t, op);
    if (tensor.dtype !== 'i32') throw new TypeError(`${op}: ${input} must be an int tensor, got ${tensor.dtype} ${shapeString(t.shape)}`);
    return tensor;
  }

  private f32(t: WasmTensor): Float32Array {
    return new Float32Array(this.kernels.memory.buffer, t.ptr, t.size);
  }

  private i32(t: WasmTensor): Int32Array {
    return new Int32Array(this.kernels.memory.buffer, t.ptr, t.size);
  }

  private i32view(ptr: number, len: number): Int32Array {
    return new Int32Array(this.kernels.memory.buffer, ptr, len);
  }

  /** Debug mode: throw if any float input holds NaN or ±inf, naming the op and the input. */
  private checkInputs(op: string, inputs: Record<string, WasmTensor>): void {
    if (!this.checkFinite) return;
    for (const [name, t] of Object.entries(inputs)) {
      const at = this.k.first_non_finite(t.ptr, t.size);
      if (at >= 0)
        throw new RangeError(`${op}: input ${name} ${shapeString(t.shape)} holds ${this.f32(t)[at]} at flat index ${at} (non-finite check of the debug mode)`);
    }
  }

}

/**
 * The WASM backend on the process's kernels (or the given ones). Backends may share kernels (one memory); each has
 * its own thread pool.
 */
export async function createWasmBackend(kernels?: WasmKernels, options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const k = kernels ?? (await loadWasmKernels());
  const runtime = await workerRuntime();
  const envThreads = runtime.env('UNILAB_THREADS');
  const threads = options.threads ?? (envThreads ? Number(envThreads) : Math.min(8, runtime.hardwareThreads()));
  const checkFinite = options.checkFinite ?? runtime.env('UNILAB_CHECK_FINITE') === '1';
  const envPrecision = runtime.env('UNILAB_PRECISION');
  const precision =
    options.precision !== undefined
      ? parseMatmulPrecision(options.precision, 'wasm backend option precision')
      : envPrecision
        ? parseMatmulPrecision(envPrecision, 'UNILAB_PRECISION')
        : 'f32';
  return new WasmBackend(k, await ThreadPool.create(k, threads), wasmStorage(k), checkFinite, precision);
}

export { loadWasmKernels, type KernelVariant, type WasmKernels };
