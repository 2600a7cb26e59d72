import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createWasmBackend, loadWasmKernels, type WasmBackend } from '../src/backends/wasm/wasm-backend.ts';
import type { ThreadPool } from '../src/backends/wasm/thread-pool.ts';
import { values } from './wasm-compare.ts';

// The kernels come from wasm-pack's packages (wasm-bindgen's `web` output) in src/backends/wasm/pkg/, and every
// thread instantiates them through the glue's `initSync` (kernels-rs/README.md, "Threads").

const PAGE = 65536;
const backends: WasmBackend[] = [];
afterAll(() => backends.forEach((b) => b.close()));

function leb(bytes: Uint8Array, at: { i: number }): number {
  let result = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = bytes[at.i++];
    result += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return result;
  }
}

/** The imported memory's declared limits, read from the module's import section (the JS API does not give them). */
function memoryImport(bytes: Uint8Array): { module: string; name: string; shared: boolean; minimum: number; maximum?: number } {
  const at = { i: 8 };
  const text = () => {
    const len = leb(bytes, at);
    const s = new TextDecoder().decode(bytes.subarray(at.i, at.i + len));
    at.i += len;
    return s;
  };
  while (at.i < bytes.length) {
    const id = bytes[at.i++];
    const size = leb(bytes, at);
    const end = at.i + size;
    if (id === 2) {
      for (let n = leb(bytes, at); n > 0; n--) {
        const [module, name, kind] = [text(), text(), bytes[at.i++]];
        if (kind === 2) {
          const flags = bytes[at.i++];
          const minimum = leb(bytes, at);
          return { module, name, shared: (flags & 2) !== 0, minimum, ...(flags & 1 ? { maximum: leb(bytes, at) } : {}) };
        }
        if (kind === 0) leb(bytes, at);
        else if (kind === 1) [at.i++, bytes[at.i] & 1 ? (at.i++, leb(bytes, at), leb(bytes, at)) : (at.i++, leb(bytes, at))];
        else if (kind === 3) at.i += 2;
        else throw new Error(`import kind ${kind}`);
      }
    }
    at.i = end;
  }
  throw new Error('no memory import');
}

describe('wasm kernels through wasm-bindgen glue', () => {
  it("the heap starts past the page wasm-bindgen's thread transform keeps after the static memory", async () => {
    // First thing in this file (a fresh module graph): the first block is the heap's first byte.
    const kernels = await loadWasmKernels('simd128');
    const first = kernels.allocF32(4);
    const bytes = new Uint8Array(await readFile(new URL('../src/backends/wasm/pkg/simd128/unilab_kernels_bg.wasm', import.meta.url)));
    const memory = memoryImport(bytes);
    // The transform grew the module's minimum by that page, so the page ends at minimum * PAGE.
    expect(memory).toMatchObject({ shared: true, maximum: 65536 });
    expect(first).toBeGreaterThanOrEqual(memory.minimum * PAGE);
    expect(first).toBeLessThan((memory.minimum + 1) * PAGE);
    kernels.freeF32(first, 4);
  });

  it('both builds are wasm-pack packages: glue, declarations, a shared-memory module that threads can instantiate', async () => {
    await loadWasmKernels(); // on Node 20 this turns V8's relaxed-SIMD flag on, which compiling the relaxed build needs
    for (const variant of ['simd128', 'relaxed'] as const) {
      const dir = new URL(`../src/backends/wasm/pkg/${variant}/`, import.meta.url);
      const pkg = JSON.parse(await readFile(new URL('package.json', dir), 'utf8'));
      expect(pkg).toMatchObject({ name: 'unilab-kernels', type: 'module', types: 'unilab_kernels.d.ts' });
      expect(await readFile(new URL('unilab_kernels.d.ts', dir), 'utf8')).toMatch(/export function pool_work\(task: number, ws: number, ws_len: number\): number;/);
      const module = new WebAssembly.Module(new Uint8Array(await readFile(new URL('unilab_kernels_bg.wasm', dir))));
      const exports = WebAssembly.Module.exports(module).map((e) => e.name);
      // The thread transform ran: a start function taking the stack size, and a way to give a thread's stack back.
      expect(exports).toEqual(expect.arrayContaining(['__wbindgen_start', '__wbindgen_thread_destroy', 'pool_work', 'alloc_f32']));
      expect(WebAssembly.Module.imports(module).filter((i) => i.kind === 'memory')).toHaveLength(1);
    }
    const kernels = await loadWasmKernels('simd128');
    expect(typeof kernels.exports.initSync).toBe('function');
    expect(kernels.glueUrl).toMatch(/pkg\/simd128\/unilab_kernels\.js$/);
  });

  it('workers that stop give their stacks back, and the workers started after them agree with them', async () => {
    const kernels = await loadWasmKernels();
    const [m, k, n] = [128, 64, 512]; // a matmul cut into three units: both workers of a 3-thread pool start
    /** Products on a new backend, its workers stopped (what the pool does to Web Workers after IDLE_MS without work;
     * Node's are never stopped before close) and started again `restarts` times; the heap's growth once it closed. */
    const run = async (threads: number, restarts: number) => {
      const before = kernels.exports.heap_used();
      const be = await createWasmBackend(kernels, { threads });
      const pool = (be as unknown as { pool: ThreadPool }).pool;
      const [a, b] = [be.fromArray(values(m * k, 1), [m, k]), be.fromArray(values(k * n, 2), [k, n])];
      const products: Float32Array[] = [];
      for (let round = 0; round <= restarts; round++) {
        if (round > 0) pool.stopWorkers(); // the next task waits until they have freed their stacks and gone
        const c = be.matmul(a, b);
        products.push((await be.read(c)) as Float32Array);
        be.dispose(c); // back to the backend's cache, reused next round
      }
      be.close(); // waits for the last workers too
      return { products, grew: kernels.exports.heap_used() - before };
    };
    const single = await run(1, 0);
    const threaded = await run(3, 4);
    for (const p of threaded.products) expect(p).toEqual(single.products[0]);
    // Both keep the same tensors (a, b, the cached c) and the pool's control block; ten 256 KiB worker stacks came
    // and went without a trace.
    expect(threaded.grew).toBe(single.grew);
  });
});
