import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../src/checkpoint/safetensors.ts';

describe('safetensors', () => {
  it('writes the documented layout: u64 LE header length, JSON header, aligned little-endian data', () => {
    const bytes = encodeSafetensors(
      [
        { name: 'a', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
        { name: 'ids', shape: [3], data: new Int32Array([7, -1, 9]) },
      ],
      { format: 'test' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({
      __metadata__: { format: 'test' },
      a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
      ids: { dtype: 'I32', shape: [3], data_offsets: [16, 28] },
    });
    expect(bytes.length).toBe(8 + n + 28);
    expect(new DataView(bytes.buffer).getFloat32(8 + n + 12, true)).toBe(4);
    expect(new DataView(bytes.buffer).getInt32(8 + n + 20, true)).toBe(-1);
  });

  it('round-trips tensors and metadata exactly', () => {
    const data = new Float32Array([0.1, -2.5e-8, 3.4e38, Number.NaN]);
    const { tensors, metadata } = decodeSafetensors(encodeSafetensors([{ name: 'x', shape: [4], data }], { k: 'v' }));
    expect(metadata).toEqual({ k: 'v' });
    expect(new Uint32Array(tensors.get('x')!.data.buffer)).toEqual(new Uint32Array(data.buffer));
  });
});
