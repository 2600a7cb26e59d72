export * from './batch.ts';
export * from './rng.ts';
export * from './config/schema.ts';
export * from './plugins/objective.ts';
export * from './plugins/inference-layout.ts';
export * from './backend/tensor.ts';
export * from './backend/backend.ts';
export { ArrayBackend } from './backends/array-backend.ts';
export { createReferenceBackend } from './backends/reference/reference-backend.ts';
export { Tape, Var, type OpRecord } from './autodiff/tape.ts';
export { firstNonFinite, describeOp, type NonFiniteOp } from './autodiff/finite-check.ts';
export { locateNonFinite } from './train/locate-non-finite.ts';
export * as ops from './autodiff/ops.ts';
export * from './nn/parameter.ts';
export * from './nn/lora.ts';
export * from './nn/bottleneck-adapter.ts';
export * from './plugins/architecture.ts';
export * from './plugins/incremental-decoding.ts';
export * from './batch-tensors.ts';
export * from './optim/adamw.ts';
export * from './optim/schedule.ts';
export * from './tokenizer.ts';
export * from './checkpoint/safetensors.ts';
export * from './checkpoint/checkpoint.ts';
export { crc32 } from './checkpoint/crc32.ts';
export * from './train/trainer.ts';
export * from './plugins/registry.ts';
export * from './generate/sampling.ts';
export {
  createWasmBackend,
  loadWasmKernels,
  WasmBackend,
  type WasmBackendOptions,
  type MatmulPrecision,
  MATMUL_PRECISIONS,
  parseMatmulPrecision,
  type WasmKernels,
  type KernelVariant,
} from './backends/wasm/wasm-backend.ts';
export { createWasmMinhashSigner, type MinhashSigner, type MinhashSignerOptions } from './backends/wasm/minhash-signer.ts';
export {
  createWebGpuBackend,
  WebGpuBackend,
  WebGpuDeviceLostError,
  type WebGpuBackendOptions,
} from './backends/webgpu/webgpu-backend.ts';
export { requestWebGpuDevice, WebGpuUnavailableError, type AcquiredDevice } from './backends/webgpu/device.ts';
export * from './plugins/data-stage.ts';
export * from './plugins/positional-encoding.ts';
export * from './plugins/capabilities.ts';
export * from './plugins/model-readings.ts';
export * from './plugins/tunable-projections.ts';
export { sampleModelGradients, type GradientSample } from './autodiff/model-gradcheck.ts';
