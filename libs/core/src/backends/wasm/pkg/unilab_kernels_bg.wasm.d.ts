/* tslint:disable */
/* eslint-disable */
export const memory: WebAssembly.Memory;
export const alloc_f32: (a: number) => number;
export const alloc_i32: (a: number) => number;
export const free_f32: (a: number, b: number) => void;
export const free_i32: (a: number, b: number) => void;
export const matmul: (a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number, i: number) => void;
export const __wbindgen_externrefs: WebAssembly.Table;
export const __wbindgen_start: () => void;
