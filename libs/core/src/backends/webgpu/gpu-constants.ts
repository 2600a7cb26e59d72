/**
 * WebGPU's numeric flags, as the spec fixes them. Spelled out here so the backend does not depend on the runtime
 * having installed the GPUBufferUsage / GPUShaderStage / GPUMapMode globals (Dawn's Node bindings only do so on request).
 */
export const BufferUsage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;

export const ShaderStageCompute = 0x4;
export const MapModeRead = 0x1;
