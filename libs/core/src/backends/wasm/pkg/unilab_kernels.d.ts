/* tslint:disable */
/* eslint-disable */

/**
 * Allocate room for `len` f32 values; returns the byte offset, or 0 when out of memory.
 */
export function alloc_f32(len: number): number;

/**
 * Allocate room for `len` i32 values; returns the byte offset, or 0 when out of memory.
 */
export function alloc_i32(len: number): number;

/**
 * Free a block returned by `alloc_f32(len)` (same `len`).
 */
export function free_f32(ptr: number, len: number): void;

/**
 * Free a block returned by `alloc_i32(len)` (same `len`).
 */
export function free_i32(ptr: number, len: number): void;

/**
 * C[m,n] = op(A)·op(B) (+ C). Pointers are byte offsets into linear memory.
 */
export function matmul(a: number, b: number, c: number, m: number, k: number, n: number, trans_a: boolean, trans_b: boolean, accumulate: boolean): void;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly alloc_f32: (a: number) => number;
    readonly alloc_i32: (a: number) => number;
    readonly free_f32: (a: number, b: number) => void;
    readonly free_i32: (a: number, b: number) => void;
    readonly matmul: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number) => void;
    readonly __wbindgen_externrefs: WebAssembly.Table;
    readonly __wbindgen_start: () => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
