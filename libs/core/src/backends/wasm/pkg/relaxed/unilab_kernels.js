/* @ts-self-types="./unilab_kernels.d.ts" */

/**
 * @param {number} x
 * @param {number} bias
 * @param {number} y
 * @param {number} rows
 * @param {number} n
 */
export function add_bias(x, bias, y, rows, n) {
    wasm.add_bias(x, bias, y, rows, n);
}

/**
 * Allocate room for `len` f32 values; returns the byte offset, or 0 when out of memory.
 * @param {number} len
 * @returns {number}
 */
export function alloc_f32(len) {
    const ret = wasm.alloc_f32(len);
    return ret >>> 0;
}

/**
 * Workspace (f32) one thread needs for a forward (backward = 0) or backward unit.
 * @param {number} tq
 * @param {number} tk
 * @param {number} d
 * @param {number} backward
 * @returns {number}
 */
export function attention_workspace(tq, tk, d, backward) {
    const ret = wasm.attention_workspace(tq, tk, d, backward);
    return ret >>> 0;
}

/**
 * Σ mask over n rows, in f64 (the count of unmasked rows).
 * @param {number} mask
 * @param {number} n
 * @returns {number}
 */
export function cross_entropy_count(mask, n) {
    const ret = wasm.cross_entropy_count(mask, n);
    return ret;
}

/**
 * norm · Σ row_loss, rows in order.
 * @param {number} row_loss
 * @param {number} n
 * @param {number} norm
 * @returns {number}
 */
export function cross_entropy_reduce(row_loss, n, norm) {
    const ret = wasm.cross_entropy_reduce(row_loss, n, norm);
    return ret;
}

/**
 * @param {number} x
 * @param {number} y
 * @param {number} n
 * @param {number} key
 * @param {number} threshold
 * @param {number} scale
 */
export function dropout(x, y, n, key, threshold, scale) {
    wasm.dropout(x, y, n, key, threshold, scale);
}

/**
 * The mask key of (seed, salt): FNV-1a over the seed's words, mixed with the salt.
 * @param {number} seed
 * @param {number} m
 * @param {number} salt
 * @returns {number}
 */
export function dropout_key(seed, m, salt) {
    const ret = wasm.dropout_key(seed, m, salt);
    return ret >>> 0;
}

/**
 * @param {number} ids
 * @param {number} dy
 * @param {number} dtable
 * @param {number} n
 * @param {number} d
 * @param {number} v
 * @returns {number}
 */
export function embedding_backward(ids, dy, dtable, n, d, v) {
    const ret = wasm.embedding_backward(ids, dy, dtable, n, d, v);
    return ret;
}

/**
 * @param {number} ids
 * @param {number} table
 * @param {number} y
 * @param {number} n
 * @param {number} d
 * @param {number} v
 * @returns {number}
 */
export function embedding_forward(ids, table, y, n, d, v) {
    const ret = wasm.embedding_forward(ids, table, y, n, d, v);
    return ret;
}

/**
 * @param {number} x
 * @param {number} n
 * @returns {number}
 */
export function first_non_finite(x, n) {
    const ret = wasm.first_non_finite(x, n);
    return ret;
}

/**
 * Free a block returned by `alloc_f32(len)` (same `len`).
 * @param {number} ptr
 * @param {number} len
 */
export function free_f32(ptr, len) {
    wasm.free_f32(ptr, len);
}

/**
 * Bytes handed out and not given back (a diagnostic, with which the tests see that
 * stopped workers give their stacks back).
 * @returns {number}
 */
export function heap_used() {
    const ret = wasm.heap_used();
    return ret >>> 0;
}

/**
 * @param {number} dy
 * @param {number} x
 * @param {number} w
 * @param {number} mean
 * @param {number} rstd
 * @param {number} dx
 * @param {number} dw
 * @param {number} db
 * @param {number} rows
 * @param {number} d
 */
export function layernorm_backward(dy, x, w, mean, rstd, dx, dw, db, rows, d) {
    wasm.layernorm_backward(dy, x, w, mean, rstd, dx, dw, db, rows, d);
}

/**
 * @param {number} x
 * @param {number} w
 * @param {number} b
 * @param {number} y
 * @param {number} mean
 * @param {number} rstd
 * @param {number} rows
 * @param {number} d
 * @param {number} eps
 */
export function layernorm_forward(x, w, b, y, mean, rstd, rows, d, eps) {
    wasm.layernorm_forward(x, w, b, y, mean, rstd, rows, d, eps);
}

/**
 * Workspace (f32) one thread needs for `gemm`.
 * @returns {number}
 */
export function matmul_workspace() {
    const ret = wasm.matmul_workspace();
    return ret >>> 0;
}

/**
 * @param {number} text
 * @param {number} len
 * @param {number} word_chars
 * @param {number} n
 * @param {number} seeds
 * @param {number} k
 * @param {number} ws
 * @param {number} ws_len
 * @param {number} out
 */
export function minhash_signature(text, len, word_chars, n, seeds, k, ws, ws_len, out) {
    wasm.minhash_signature(text, len, word_chars, n, seeds, k, ws, ws_len, out);
}

/**
 * Workspace (u32 elements) for a text of `len` code units: a word takes at least
 * one unit and is followed by a non-word unit, so there are at most ⌈len / 2⌉
 * words, and at least one shingle.
 * @param {number} len
 * @returns {number}
 */
export function minhash_workspace(len) {
    const ret = wasm.minhash_workspace(len);
    return ret >>> 0;
}

/**
 * Run units of `task` until none is left; returns how many this thread ran.
 * `ws` is this thread's workspace (`ws_len` f32), sized by the main thread with
 * the op's `*_workspace` function.
 * @param {number} task
 * @param {number} ws
 * @param {number} ws_len
 * @returns {number}
 */
export function pool_work(task, ws, ws_len) {
    const ret = wasm.pool_work(task, ws, ws_len);
    return ret >>> 0;
}

/**
 * @param {number} dy
 * @param {number} x
 * @param {number} w
 * @param {number} rstd
 * @param {number} dx
 * @param {number} dw
 * @param {number} rows
 * @param {number} d
 */
export function rmsnorm_backward(dy, x, w, rstd, dx, dw, rows, d) {
    wasm.rmsnorm_backward(dy, x, w, rstd, dx, dw, rows, d);
}

/**
 * @param {number} x
 * @param {number} w
 * @param {number} y
 * @param {number} rstd
 * @param {number} rows
 * @param {number} d
 * @param {number} eps
 */
export function rmsnorm_forward(x, w, y, rstd, rows, d, eps) {
    wasm.rmsnorm_forward(x, w, y, rstd, rows, d, eps);
}

/**
 * Rotate `x` into `y` (must not overlap); `block_pos` null for 1D.
 * @param {number} x
 * @param {number} pos
 * @param {number} block_pos
 * @param {number} y
 * @param {number} bt
 * @param {number} h
 * @param {number} d
 * @param {number} table
 * @param {number} table_positions
 * @param {number} base
 * @param {number} inverse
 * @param {number} scratch
 */
export function rope(x, pos, block_pos, y, bt, h, d, table, table_positions, base, inverse, scratch) {
    wasm.rope(x, pos, block_pos, y, bt, h, d, table, table_positions, base, inverse, scratch);
}

/**
 * Fill rows 0..positions of the table for rotated width `w` and `base`.
 * @param {number} table
 * @param {number} positions
 * @param {number} w
 * @param {number} base
 */
export function rope_table(table, positions, w, base) {
    wasm.rope_table(table, positions, w, base);
}

/**
 * @param {number} x
 * @param {number} n
 * @returns {number}
 */
export function sum_of_squares(x, n) {
    const ret = wasm.sum_of_squares(x, n);
    return ret;
}

/**
 * @param {number} dy
 * @param {number} out
 * @param {number} rows
 * @param {number} n
 */
export function sum_rows(dy, out, rows, n) {
    wasm.sum_rows(dy, out, rows, n);
}
function __wbg_get_imports(memory) {
    const import0 = {
        __proto__: null,
        __wbindgen_init_externref_table: function() {
            const table = wasm.__wbindgen_externrefs;
            const offset = table.grow(4);
            table.set(0, undefined);
            table.set(offset + 0, undefined);
            table.set(offset + 1, null);
            table.set(offset + 2, true);
            table.set(offset + 3, false);
        },
        memory: memory || new WebAssembly.Memory({initial:6,maximum:65536,shared:true}),
    };
    return {
        __proto__: null,
        "./unilab_kernels_bg.js": import0,
    };
}

let wasmModule, wasmInstance, wasm;
function __wbg_finalize_init(instance, module, thread_stack_size) {
    wasmInstance = instance;
    wasm = instance.exports;
    wasmModule = module;
    if (typeof thread_stack_size !== 'undefined' && (typeof thread_stack_size !== 'number' || thread_stack_size === 0 || thread_stack_size % 65536 !== 0)) {
        throw new Error('invalid stack size');
    }

    wasm.__wbindgen_start(thread_stack_size);
    return wasm;
}

async function __wbg_load(module, imports) {
    if (typeof Response === 'function' && module instanceof Response) {
        if (!module.ok) {
            throw new Error(`failed to fetch Wasm: ${module.status} ${module.statusText} fetching '${module.url}'`);
        }

        if (typeof WebAssembly.instantiateStreaming === 'function') {
            try {
                return await WebAssembly.instantiateStreaming(module, imports);
            } catch (e) {
                const validResponse = expectedResponseType(module.type);

                if (validResponse && module.headers.get('Content-Type') !== 'application/wasm') {
                    console.warn("`WebAssembly.instantiateStreaming` failed because your server does not serve Wasm with `application/wasm` MIME type. Falling back to `WebAssembly.instantiate` which is slower. Original error:\n", e);

                } else { throw e; }
            }
        }

        const bytes = await module.arrayBuffer();
        return await WebAssembly.instantiate(bytes, imports);
    } else {
        const instance = await WebAssembly.instantiate(module, imports);

        if (instance instanceof WebAssembly.Instance) {
            return { instance, module };
        } else {
            return instance;
        }
    }

    function expectedResponseType(type) {
        switch (type) {
            case 'basic': case 'cors': case 'default': return true;
        }
        return false;
    }
}

function initSync(module, memory) {
    if (wasm !== undefined) return wasm;

    let thread_stack_size
    if (module !== undefined) {
        if (Object.getPrototypeOf(module) === Object.prototype) {
            ({module, memory, thread_stack_size} = module)
        } else {
            console.warn('using deprecated parameters for `initSync()`; pass a single object instead')
        }
    }

    const imports = __wbg_get_imports(memory);
    if (!(module instanceof WebAssembly.Module)) {
        module = new WebAssembly.Module(module);
    }
    const instance = new WebAssembly.Instance(module, imports);
    return __wbg_finalize_init(instance, module, thread_stack_size);
}

async function __wbg_init(module_or_path, memory) {
    if (wasm !== undefined) return wasm;

    let thread_stack_size
    if (module_or_path !== undefined) {
        if (Object.getPrototypeOf(module_or_path) === Object.prototype) {
            ({module_or_path, memory, thread_stack_size} = module_or_path)
        } else {
            console.warn('using deprecated parameters for the initialization function; pass a single object instead')
        }
    }

    if (module_or_path === undefined) {
        module_or_path = new URL('unilab_kernels_bg.wasm', import.meta.url);
    }
    const imports = __wbg_get_imports(memory);

    if (typeof module_or_path === 'string' || (typeof Request === 'function' && module_or_path instanceof Request) || (typeof URL === 'function' && module_or_path instanceof URL)) {
        module_or_path = fetch(module_or_path);
    }

    const { instance, module } = await __wbg_load(await module_or_path, imports);

    return __wbg_finalize_init(instance, module, thread_stack_size);
}

export { initSync, __wbg_init as default };
