/// <reference types="@webgpu/types" />
import { ShaderStageCompute } from './gpu-constants.ts';
/**
 * A compute kernel as data: its uniform parameters, its storage bindings and its WGSL body. The header (enables,
 * the Params struct, the bindings and the entry point's signature) is generated from the same lists the host uses
 * to fill the uniform block and the bind group, so the two sides cannot drift apart.
 *
 * Every kernel gets the entry point `main` with these names in scope:
 *   wid (workgroup_id), lid (local_invocation_index), lid3 (local_invocation_id), nwg (num_workgroups),
 *   gid (global_invocation_id), and with subgroups enabled sg_lane (subgroup_invocation_id), sg_size (subgroup_size).
 * `P` is the uniform Params struct.
 */

export type ParamType = 'u32' | 'i32' | 'f32';
/** Element type of a storage binding; `vec2f` packs two f32 per element. */
export type ElementType = 'f32' | 'i32' | 'u32' | 'vec2f';

export interface BindingSpec {
  readonly name: string;
  readonly access: 'read' | 'read_write';
  readonly type: ElementType;
}

export interface KernelSpec {
  /** Pipeline cache key: the kernel's name and every compile-time choice of this variant. */
  readonly key: string;
  readonly params: readonly (readonly [string, ParamType])[];
  readonly bindings: readonly BindingSpec[];
  readonly workgroupSize: readonly [number, number?, number?];
  /** Module-scope WGSL placed before `main` (workgroup arrays, helper functions). */
  readonly helpers?: string;
  /** The body of `main`. */
  readonly main: string;
  readonly subgroups?: boolean;
  readonly f16?: boolean;
}

export const read = (name: string, type: ElementType = 'f32'): BindingSpec => ({ name, access: 'read', type });
export const write = (name: string, type: ElementType = 'f32'): BindingSpec => ({ name, access: 'read_write', type });

const wgslType: Record<ElementType, string> = { f32: 'f32', i32: 'i32', u32: 'u32', vec2f: 'vec2<f32>' };

/** Byte size of the uniform block (4 bytes a field, rounded up to 16 as uniform structs require). */
export function paramsByteSize(spec: KernelSpec): number {
  return Math.max(16, Math.ceil((spec.params.length * 4) / 16) * 16);
}

export function kernelSource(spec: KernelSpec): string {
  const lines: string[] = [];
  if (spec.f16) lines.push('enable f16;');
  if (spec.subgroups) lines.push('enable subgroups;');
  const fields = spec.params.length > 0 ? spec.params.map(([n, t]) => `  ${n}: ${t},`) : ['  unused: u32,'];
  lines.push('struct Params {', ...fields, '}');
  lines.push('@group(0) @binding(0) var<uniform> P: Params;');
  spec.bindings.forEach((b, i) => {
    lines.push(`@group(0) @binding(${i + 1}) var<storage, ${b.access}> ${b.name}: array<${wgslType[b.type]}>;`);
  });
  if (spec.helpers) lines.push(spec.helpers);
  const [x, y = 1, z = 1] = spec.workgroupSize;
  const builtins = [
    '@builtin(workgroup_id) wid: vec3<u32>',
    '@builtin(local_invocation_index) lid: u32',
    '@builtin(local_invocation_id) lid3: vec3<u32>',
    '@builtin(num_workgroups) nwg: vec3<u32>',
    '@builtin(global_invocation_id) gid: vec3<u32>',
  ];
  if (spec.subgroups) builtins.push('@builtin(subgroup_invocation_id) sg_lane: u32', '@builtin(subgroup_size) sg_size: u32');
  lines.push(`@compute @workgroup_size(${x}, ${y}, ${z})`, `fn main(${builtins.join(', ')}) {`, spec.main, '}');
  return lines.join('\n');
}

/** The explicit bind-group layout of a kernel: binding 0 the uniform block, then its storage buffers in order. */
export function bindGroupLayoutEntries(spec: KernelSpec): GPUBindGroupLayoutEntry[] {
  return [
    { binding: 0, visibility: ShaderStageCompute, buffer: { type: 'uniform' } },
    ...spec.bindings.map(
      (b, i): GPUBindGroupLayoutEntry => ({
        binding: i + 1,
        visibility: ShaderStageCompute,
        buffer: { type: b.access === 'read' ? 'read-only-storage' : 'storage' },
      }),
    ),
  ];
}

/** Write a kernel's parameters into a uniform block in declaration order. */
export function packParams(spec: KernelSpec, values: Readonly<Record<string, number>>, view: DataView, offset: number): void {
  spec.params.forEach(([name, type], i) => {
    const v = values[name];
    if (v === undefined) throw new Error(`kernel ${spec.key}: parameter ${name} missing`);
    const at = offset + i * 4;
    if (type === 'f32') view.setFloat32(at, v, true);
    else if (type === 'i32') view.setInt32(at, v, true);
    else view.setUint32(at, v >>> 0, true);
  });
}

/** Elements per workgroup of the flat elementwise kernels. */
export const FLAT = 256;

/** The flat index of this invocation in a dispatch laid out by `grid` (workgroups beyond 65535 wrap into y). */
export const flatIndex = `(wid.x + wid.y * nwg.x) * ${FLAT}u + lid`;
/** The flat workgroup index in a dispatch laid out by `grid`. */
export const flatWorkgroup = `(wid.x + wid.y * nwg.x)`;

/** A 2-D dispatch covering `workgroups` workgroups within the 65535-per-dimension limit. */
export function grid(workgroups: number): [number, number] {
  if (workgroups <= 65535) return [Math.max(1, workgroups), 1];
  const y = Math.ceil(workgroups / 65535);
  return [Math.ceil(workgroups / y), y];
}
