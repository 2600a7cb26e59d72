/**
 * Loads the wasm32 kernels built from `kernels-rs/` by wasm-pack (wasm-bindgen's `web` output) into a shared
 * WebAssembly.Memory, so that worker threads can instantiate the same compiled module over the same memory.
 *
 * Two builds are committed in `./pkg/<variant>/` (scripts/build-kernels.sh): `relaxed` uses relaxed-SIMD FMA and is
 * chosen when the engine validates it (Node 20 after a V8 flag, Node 22+, Deno, current browsers); `simd128` is the
 * fallback. `UNILAB_KERNELS=simd128|relaxed` forces one. Each holds wasm-bindgen's glue (`unilab_kernels.js`, its
 * `.d.ts`) and the module (`unilab_kernels_bg.wasm`). The glue's `initSync({ module, memory })` instantiates the module
 * over a memory made here, on the main thread and in every worker (kernel-worker.js); the glue's start function gives
 * each thread after the first its own stack and thread-local block.
 *
 * All kernels take pointers: byte offsets into `memory.buffer`, obtained from `allocF32`/`allocI32`. The memory is
 * shared: growing it never detaches a view, but a view made before a growth does not reach the new pages, so views
 * are made after allocating.
 */
import { readFile } from 'node:fs/promises';
import { workerRuntime } from '../../workers/worker-runtime.ts';

export type KernelVariant = 'relaxed' | 'simd128';

/**
 * The kernels as wasm-bindgen's glue exports them (kernels-rs/src/*.rs, `#[wasm_bindgen]`): its generated
 * TypeScript declarations, the same for both builds. Pointers and sizes are numbers (wasm i32, unsigned on the Rust
 * side).
 */
export type KernelExports = typeof import('./pkg/simd128/unilab_kernels.js');

export interface WasmKernels {
  /** Which build runs. */
  readonly variant: KernelVariant;
  /** The compiled module (workers instantiate it over `memory` through the glue at `glueUrl`). */
  readonly module: WebAssembly.Module;
  /** URL of the build's wasm-bindgen glue, which each worker imports. */
  readonly glueUrl: string;
  /** The shared linear memory; pointers are byte offsets into `memory.buffer`. */
  readonly memory: WebAssembly.Memory;
  /** The kernels, through the glue instantiated on the main thread. */
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

/** One instance per build and process: the glue module holds its instance, so a build is instantiated once. */
const loaded = new Map<KernelVariant, Promise<WasmKernels>>();
const chosen = new Map<KernelVariant | 'auto', ReturnType<typeof chooseVariant>>();

/**
 * Compile and instantiate the kernels once per variant; later calls return the same instance. `auto` (the default)
 * picks `UNILAB_KERNELS` when set, else relaxed SIMD when the engine supports it, else SIMD128.
 */
export async function loadWasmKernels(variant: KernelVariant | 'auto' = 'auto'): Promise<WasmKernels> {
  let choice = chosen.get(variant);
  if (!choice) {
    choice = chooseVariant(variant);
    chosen.set(variant, choice);
    choice.catch(() => chosen.delete(variant)); // allow a retry after a failed load
  }
  const { variant: build, bytes } = await choice;
  let p = loaded.get(build);
  if (!p) {
    p = instantiate(build, bytes);
    loaded.set(build, p);
    p.catch(() => loaded.delete(build));
  }
  return p;
}

/** The files of a build, next to this file (written by scripts/build-kernels.sh). */
function buildFile(variant: KernelVariant, file: 'unilab_kernels_bg.wasm' | 'unilab_kernels.js'): URL {
  return new URL(`./pkg/${variant}/${file}`, import.meta.url);
}

async function moduleBytes(variant: KernelVariant): Promise<Uint8Array<ArrayBuffer>> {
  const url = buildFile(variant, 'unilab_kernels_bg.wasm');
  try {
    // Copy into a plain ArrayBuffer (a Buffer may sit on a shared pool).
    return new Uint8Array(await readFile(url));
  } catch (err) {
    throw new Error(`unilab wasm kernels: cannot read ${url.href} (build it with scripts/build-kernels.sh)`, { cause: err });
  }
}

/** The build's glue (literal paths, so that every loader and bundler sees them). */
function importGlue(variant: KernelVariant): Promise<KernelExports> {
  return variant === 'relaxed' ? import('./pkg/relaxed/unilab_kernels.js') : import('./pkg/simd128/unilab_kernels.js');
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

async function instantiate(variant: KernelVariant, bytes: Uint8Array<ArrayBuffer>): Promise<WasmKernels> {
  const module = await WebAssembly.compile(bytes);
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
  const exports = await importGlue(variant);
  // The first instance over a fresh memory is thread 0: it initialises the data segments and keeps the module's stack.
  exports.initSync({ module, memory });

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
    glueUrl: buildFile(variant, 'unilab_kernels.js').href,
    memory,
    exports,
    allocF32: allocator('allocF32'),
    freeF32: (ptr, len) => exports.free_f32(ptr, len),
    allocI32: allocator('allocI32'),
    freeI32: (ptr, len) => exports.free_f32(ptr, len),
  };
}
