/* tslint:disable */
/* eslint-disable */

export function add_bias(x: number, bias: number, y: number, rows: number, n: number): void;

/**
 * Allocate room for `len` f32 values; returns the byte offset, or 0 when out of memory.
 */
export function alloc_f32(len: number): number;

/**
 * Workspace (f32) one thread needs for a forward (backward = 0) or backward unit.
 */
export function attention_workspace(tq: number, tk: number, d: number, backward: number): number;

/**
 * Σ mask over n rows, in f64 (the count of unmasked rows).
 */
export function cross_entropy_count(mask: number, n: number): number;

/**
 * norm · Σ row_loss, rows in order.
 */
export function cross_entropy_reduce(row_loss: number, n: number, norm: number): number;

export function dropout(x: number, y: number, n: number, key: number, threshold: number, scale: number): void;

/**
 * The mask key of (seed, salt): FNV-1a over the seed's words, mixed with the salt.
 */
export function dropout_key(seed: number, m: number, salt: number): number;

export function embedding_backward(ids: number, dy: number, dtable: number, n: number, d: number, v: number): number;

export function embedding_forward(ids: number, table: number, y: number, n: number, d: number, v: number): number;

export function first_non_finite(x: number, n: number): number;

/**
 * Free a block returned by `alloc_f32(len)` (same `len`).
 */
export function free_f32(ptr: number, len: number): void;

/**
 * Bytes handed out and not given back (a diagnostic, with which the tests see that
 * stopped workers give their stacks back).
 */
export function heap_used(): number;

export function layernorm_backward(dy: number, x: number, w: number, mean: number, rstd: number, dx: number, dw: number, db: number, rows: number, d: number): void;

export function layernorm_forward(x: number, w: number, b: number, y: number, mean: number, rstd: number, rows: number, d: number, eps: number): void;

/**
 * Workspace (f32) one thread needs for `gemm`.
 */
export function matmul_workspace(): number;

export function minhash_signature(text: number, len: number, word_chars: number, n: number, seeds: number, k: number, ws: number, ws_len: number, out: number): void;

/**
 * Workspace (u32 elements) for a text of `len` code units: a word takes at least
 * one unit and is followed by a non-word unit, so there are at most ⌈len / 2⌉
 * words, and at least one shingle.
 */
export function minhash_workspace(len: number): number;

/**
 * Run units of `task` until none is left; returns how many this thread ran.
 * `ws` is this thread's workspace (`ws_len` f32), sized by the main thread with
 * the op's `*_workspace` function.
 */
export function pool_work(task: number, ws: number, ws_len: number): number;

export function rmsnorm_backward(dy: number, x: number, w: number, rstd: number, dx: number, dw: number, rows: number, d: number): void;

export function rmsnorm_forward(x: number, w: number, y: number, rstd: number, rows: number, d: number, eps: number): void;

/**
 * Rotate `x` into `y` (must not overlap); `block_pos` null for 1D.
 */
export function rope(x: number, pos: number, block_pos: number, y: number, bt: number, h: number, d: number, table: number, table_positions: number, base: number, inverse: number, scratch: number): void;

/**
 * Fill rows 0..positions of the table for rotated width `w` and `base`.
 */
export function rope_table(table: number, positions: number, w: number, base: number): void;

export function sum_of_squares(x: number, n: number): number;

export function sum_rows(dy: number, out: number, rows: number, n: number): void;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly add_bias: (a: number, b: number, c: number, d: number, e: number) => void;
    readonly alloc_f32: (a: number) => number;
    readonly attention_workspace: (a: number, b: number, c: number, d: number) => number;
    readonly cross_entropy_count: (a: number, b: number) => number;
    readonly cross_entropy_reduce: (a: number, b: number, c: number) => number;
    readonly dropout: (a: number, b: number, c: number, d: number, e: number, f: number) => void;
    readonly dropout_key: (a: number, b: number, c: number) => number;
    readonly embedding_backward: (a: number, b: number, c: number, d: number, e: number, f: number) => number;
    readonly embedding_forward: (a: number, b: number, c: number, d: number, e: number, f: number) => number;
    readonly first_non_finite: (a: number, b: number) => number;
    readonly free_f32: (a: number, b: number) => void;
    readonly heap_used: () => number;
    readonly layernorm_backward: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number, j: number) => void;
    readonly layernorm_forward: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number) => void;
    readonly matmul_workspace: () => number;
    readonly minhash_signature: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number) => void;
    readonly minhash_workspace: (a: number) => number;
    readonly pool_work: (a: number, b: number, c: number) => number;
    readonly rmsnorm_backward: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number) => void;
    readonly rmsnorm_forward: (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => void;
    readonly rope: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number, j: number, k: number, l: number) => void;
    readonly rope_table: (a: number, b: number, c: number, d: number) => void;
    readonly sum_of_squares: (a: number, b: number) => number;
    readonly sum_rows: (a: number, b: number, c: number, d: number) => void;
    readonly __wbindgen_externrefs: WebAssembly.Table;
    readonly __wbindgen_thread_destroy: (a?: number, b?: number, c?: number) => void;
    readonly __wbindgen_start: (a: number) => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput, memory?: WebAssembly.Memory, thread_stack_size?: number }} module - Passing `SyncInitInput` directly is deprecated.
 * @param {WebAssembly.Memory} memory - Deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput, memory?: WebAssembly.Memory, thread_stack_size?: number } | SyncInitInput, memory?: WebAssembly.Memory): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput>, memory?: WebAssembly.Memory, thread_stack_size?: number }} module_or_path - Passing `InitInput` directly is deprecated.
 * @param {WebAssembly.Memory} memory - Deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput>, memory?: WebAssembly.Memory, thread_stack_size?: number } | InitInput | Promise<InitInput>, memory?: WebAssembly.Memory): Promise<InitOutput>;
