import { shapeString } from '../backend/tensor.ts';
import type { OpRecord } from './tape.ts';

/**
 * Where a diverged step first produced a non-finite value: the op (its ops.ts name), whether in its forward or its
 * backward, what it worked on, and the value (NaN, Infinity or -Infinity) at its first flat index.
 */
export interface NonFiniteOp {
  phase: 'forward' | 'backward';
  op: string;
  /** The op's parameters and output shape (or the nearest parameter before it), and for backward which gradient. */
  where: string;
  value: number;
  index: number;
}

/** The first NaN or ±inf of a tensor's values, or null if they are all finite. */
export function firstNonFinite(values: Float32Array | Int32Array): { value: number; index: number } | null {
  if (values instanceof Int32Array) return null;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return { value: values[i], index: i };
  return null;
}

/**
 * An op in words, for an error message: the parameters it reads (which say the layer, e.g. `layers.1.ffn.up`) and
 * its output shape; an op without parameters (attention, add, swiglu) is placed after the last parameter read
 * before it in the forward pass.
 */
export function describeOp(record: OpRecord, before: readonly OpRecord[]): string {
  const params = record.inputs.flatMap((v) => (v.param ? [v.param.name] : []));
  const output = `output shape ${shapeString(record.output.shape)}`;
  if (params.length > 0) return `parameter${params.length > 1 ? 's' : ''} ${params.join(', ')}, ${output}`;
  for (let i = before.length - 1; i >= 0; i--) {
    const param = before[i].inputs.find((v) => v.param)?.param;
    if (param) return `${output}, after the ${before[i].op} of parameter ${param.name}`;
  }
  return output;
}
