/* tslint:disable */
/* eslint-disable */
export const add_bias: (a: number, b: number, c: number, d: number, e: number) => void;
export const alloc_f32: (a: number) => number;
export const attention_workspace: (a: number, b: number, c: number, d: number) => number;
export const cross_entropy_count: (a: number, b: number) => number;
export const cross_entropy_reduce: (a: number, b: number, c: number) => number;
export const dropout: (a: number, b: number, c: number, d: number, e: number, f: number) => void;
export const dropout_key: (a: number, b: number, c: number) => number;
export const embedding_backward: (a: number, b: number, c: number, d: number, e: number, f: number) => number;
export const embedding_forward: (a: number, b: number, c: number, d: number, e: number, f: number) => number;
export const first_non_finite: (a: number, b: number) => number;
export const free_f32: (a: number, b: number) => void;
export const heap_used: () => number;
export const layernorm_backward: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number, j: number) => void;
export const layernorm_forward: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number) => void;
export const matmul_workspace: () => number;
export const minhash_signature: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number) => void;
export const minhash_workspace: (a: number) => number;
export const pool_work: (a: number, b: number, c: number) => number;
export const rmsnorm_backward: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number) => void;
export const rmsnorm_forward: (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => void;
export const rope: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number, j: number, k: number, l: number) => void;
export const rope_table: (a: number, b: number, c: number, d: number) => void;
export const sum_of_squares: (a: number, b: number) => number;
export const sum_rows: (a: number, b: number, c: number, d: number) => void;
export const __wbindgen_externrefs: WebAssembly.Table;
export const __wbindgen_thread_destroy: (a?: number, b?: number, c?: number) => void;
export const __wbindgen_start: (a: number) => void;
