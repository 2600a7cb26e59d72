/**
 * TypeScript kernels write into preallocated outputs, llm.c style. They run on Float32Array (the reference and WASM
 * backends in f32) or Float64Array (the reference backend in f64, used by the finite-difference gradient checks).
 */
export type FloatArray = Float32Array | Float64Array;
