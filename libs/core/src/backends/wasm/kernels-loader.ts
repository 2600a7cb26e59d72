/**
 * Loads the wasm32 kernels built from `kernels-rs/` (plain `extern "C"` exports, see kernels-rs/README.md) into a
 * shared WebAssembly.Memory, so that worker threads can instantiate the same compiled module over the same memory.
 *
 * Two builds are committed in `./pkg/` (scripts/build-kernels.sh): `relaxed` uses relaxed-SIMD FMA and is chosen
 * when the engine validates it (Node 20 after a V8 flag, Node 22+, Deno, current browsers); `simd128` is the
 * fallback. `UNILAB_KERNELS=simd128|relaxed` forces one.
 *
 * All kernels take pointers: byte offsets into `memory.buffer`, obtained from `allocF32`/`allocI32`. The memory is
 * shared: growing it never detaches a view, but a view made before a growth does not reach the new pages, so views
 * are made after allocating.
 */
import { readFile } from 'node:fs/promises';
import { workerRuntime } from '../../workers/worker-runtime.ts';

export type KernelVariant = 'relaxed' | 'simd128';

/** The module's exports (kernels-rs/src/*.rs); pointers and sizes are wasm i32 (unsigned on the Rust side). */
export interface KernelExports {
  __stack_pointer: WebAssembly.Global;
  alloc_f32(len: number): number;
  free_f32(ptr: number, len: number): void;
  pool_work(task: number, ws: number, wsLen: number): number;
  matmul_workspace(): number;
  attention_workspace(tq: number, tk: number, d: number, backward: number): number;
  add_bias(x: number, bias: number, y: number, rows: number, n: number): void;
  sum_rows(dy: number, out: number, rows: number, n: number): void;
  embedding_forward(ids: number, table: number, y: number, n: number, d: number, v: number): number;
  embedding_backward(ids: number, dy: number, dtable: number, n: number, d: number, v: number): number;
  rmsnorm_forward(x: number, w: number, y: number, rstd: number, rows: number, d: number, eps: number): void;
  rmsnorm_backward(dy: number, x: number, w: number, rstd: number, dx: number, dw: number, rows: number, d: number): void;
  layernorm_forward(x: number, w: number, b: number, y: number, mean: number, rstd: number, rows: number, d: number, eps: number): void;
  layernorm_backward(dy: number, x: number, w: number, mean: number, rstd: number, dx: number, dw: number, db: number, rows: number, d: number): void;
  rope_table(table: number, positions: number, d: number, base: number): void;
  dropout_key(seed: number, m: number, salt: number): number;
  dropout(x: number, y: number, n: number, key: number, threshold: number, scale: number): void;
  rope(
    x: number,
    pos: number,
    blockPos: number,
    y: number,
    bt: number,
    h: number,
    d: number,
    table: number,
    tablePositions: number,
    base: number,
    inverse: number,
    scratch: number,
  ): void;
  cross_entropy_count(mask: number, n: number): number;
  cross_entropy_reduce(rowLoss: number, n: number, norm: number): number;
  sum_of_squares(x: number, n: number): number;
  first_non_finite(x: number, n: number): number;
  minhash_workspace(len: number): number;
  minhash_signature(
    text: number,
    len: number,
    wordChars: number,
    n: number,
    seeds: number,
    k: number,
    ws: number,
    wsLen: number,
    out: number,
  ): void;
}

export interface WasmKernels {
  /** Which build runs. */
  readonly variant: KernelVariant;
  /** The compiled module (workers instantiate it over `memory`). */
  readonly module: WebAssembly.Module;
  /** The shared linear memory; pointers are byte offsets into `memory.buffer`. */
  readonly memory: WebAssembly.Memory;
  /** The main thread's instance. */
  readonly exports: KernelExports;
  /** Room for `len` f32 (16-byte aligned). Throws (naming the byte size) when out of memory. */
  allocF32(len: number): number;
  /** Give back a block from `allocF32(len)`, with the same `len`. */
  freeF32(ptr: number, len: number): void;
  /** Room for `len` i32 (16-byte aligned). Throws (naming the byte size) when out of memory. */
  allocI32(len: number): number;
  /** Give back a block from `allocI32(len)`, with the same `len`. */
  freeI32(ptr: number, len: number): void;
}

/** wasm32 linear memory is at most 4 GiB; no single block can reach that. */
const MAX_BYTES = 2 ** 32 - 1;
/** Pages of the shared memory at start (it grows on demand up to 4 GiB). */
const INITIAL_PAGES = 256;
const MAX_PAGES = 65536;

const loaded = new Map<KernelVariant | 'auto', Promise<WasmKernels>>();

/**
 * Compile and instantiate the kernels once per variant; later calls return the same instance. `auto` (the default)
 * picks `UNILAB_KERNELS` when set, else relaxed SIMD when the engine supports it, else SIMD128.
 */
export function loadWasmKernels(variant: KernelVariant | 'auto' = 'auto'): Promise<WasmKernels> {
  let p = loaded.get(variant);
  if (!p) {
    p = instantiate(variant);
    loaded.set(variant, p);
    p.catch(() => loaded.delete(variant)); // allow a retry after a failed load
  }
  return p;
}

async function moduleBytes(variant: KernelVariant): Promise<Uint8Array<ArrayBuffer>> {
  const url = new URL(`./pkg/unilab_kernels_${variant}.wasm`, import.meta.url);
  try {
    // Copy into a plain ArrayBuffer (a Buffer may sit on a shared pool).
    return new Uint8Array(await readFile(url));
  } catch (err) {
    throw new Error(`unilab wasm kernels: cannot read ${url.href} (build it with scripts/build-kernels.sh)`, { cause: err });
  }
}

async function chooseVariant(requested: KernelVariant | 'auto'): Promise<{ variant: KernelVariant; bytes: Uint8Array<ArrayBuffer> }> {
  const runtime = await workerRuntime();
  const forced = runtime.env('UNILAB_KERNELS');
  if (requested === 'auto' && forced !== undefined && forced !== '') {
    if (forced !== 'relaxed' && forced !== 'simd128') throw new Error(`UNILAB_KERNELS must be "relaxed" or "simd128", got "${forced}"`);
    requested = forced;
  }
  if (requested !== 'simd128') {
    await runtime.enableRelaxedSimd();
    const bytes = await moduleBytes('relaxed');
    // Validating the module itself is the exact feature test: relaxed SIMD, threads and SIMD128 together.
    if (WebAssembly.validate(bytes)) return { variant: 'relaxed', bytes };
    if (requested === 'relaxed') throw new Error('unilab wasm kernels: this engine rejects the relaxed-SIMD build (needs relaxed SIMD)');
  }
  const bytes = await moduleBytes('simd128');
  if (!WebAssembly.validate(bytes))
    throw new Error(
      'unilab wasm kernels: this engine rejects the module (needs WebAssembly SIMD128, threads (shared memory, atomics) and ' +
        'bulk memory: Node >= 16.4, Deno, browsers with cross-origin isolation)',
    );
  return { variant: 'simd128', bytes };
}

async function instantiate(requested: KernelVariant | 'auto'): Promise<WasmKernels> {
  const { variant, bytes } = await chooseVariant(requested);
  const module = await WebAssembly.compile(bytes);
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const exports = instance.exports as unknown as KernelExports;

  const allocator =
    (kind: string) =>
    (len: number): number => {
      if (!Number.isSafeInteger(len) || len < 0) throw new RangeError(`unilab wasm kernels: ${kind}(${len}): length must be a non-negative integer`);
      const bytes = len * 4;
      if (bytes > MAX_BYTES)
        throw new Error(`unilab wasm kernels: ${kind}(${len}): cannot allocate ${bytes} bytes (more than the 4 GiB wasm32 address space)`);
      const ptr = exports.alloc_f32(len) >>> 0;
      if (ptr === 0)
        throw new Error(
          `unilab wasm kernels: ${kind}(${len}): out of memory allocating ${bytes} bytes ` +
            `(wasm memory is ${memory.buffer.byteLength} bytes; limit 4 GiB)`,
        );
      return ptr;
    };

  return {
    variant,
    module,
    memory,
    exports,
    allocF32: allocator('allocF32'),
    freeF32: (ptr, len) => exports.free_f32(ptr, len),
    allocI32: allocator('allocI32'),
    freeI32: (ptr, len) => exports.free_f32(ptr, len),
  };
}
