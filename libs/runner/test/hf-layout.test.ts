import { describe, expect, it } from 'vitest';
import { Rng } from '@unilab/core';
import { createBackend } from '../src/backends.ts';
import { fromHfLinear, hfFeatureOfUnilab, toHfLinear } from '../src/hf/llama-layout.ts';

const random = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.uniform() * 2 - 1);

/** transformers' Llama RoPE on one head: halves (i, i + D/2) rotate by pos·base^(-2i/D) ("rotate_half"). */
function rotateHalf(x: Float32Array, pos: number, base: number): Float32Array {
  const d = x.length;
  const y = new Float32Array(d);
  for (let i = 0; i < d / 2; i++) {
    const angle = pos * Math.pow(base, (-2 * i) / d);
    y[i] = x[i] * Math.cos(angle) - x[i + d / 2] * Math.sin(angle);
    y[i + d / 2] = x[i + d / 2] * Math.cos(angle) + x[i] * Math.sin(angle);
  }
  return y;
}

describe('LLaMA weight layout between unilab and transformers', () => {
  it("unilab's interleaved RoPE, features reordered, is transformers' rotate-half RoPE of the reordered input", async () => {
    const backend = await createBackend('reference');
    const rng = new Rng(7);
    const [t, h, d, base] = [5, 3, 8, 10000];
    const positions = [0, 1, 17, 250, 4000];
    const x = random(rng, t * h * d);
    const rotated = (await backend.read(
      backend.rope(backend.fromArray(x, [1, t, h, d]), backend.fromArray(Int32Array.from(positions), [1, t], 'i32'), base),
    )) as Float32Array;
    const toHf = (v: Float32Array) => {
      const out = new Float32Array(d);
      v.forEach((value, j) => (out[hfFeatureOfUnilab(j, d)] = value));
      return out;
    };
    let maxErr = 0;
    for (let p = 0; p < t; p++)
      for (let head = 0; head < h; head++) {
        const at = (p * h + head) * d;
        const ours = toHf(rotated.subarray(at, at + d));
        const theirs = rotateHalf(toHf(x.subarray(at, at + d)), positions[p], base);
        ours.forEach((v, j) => (maxErr = Math.max(maxErr, Math.abs(v - theirs[j]))));
      }
    expect(maxErr).toBeLessThan(1e-5);
    // Without the reordering the two differ: the check above is not vacuous.
    const plain = rotateHalf(x.subarray((2 * h) * d, (2 * h) * d + d), positions[2], base);
    expect(Math.max(...plain.map((v, j) => Math.abs(v - rotated[2 * h * d + j])))).toBeGreaterThan(1e-2);
  });

  it('a linear layer computes the same outputs in both layouts (q rows reordered per head) and round-trips exactly', () => {
    const rng = new Rng(3);
    const [inDim, outDim, headDim] = [6, 8, 4];
    const w = random(rng, inDim * outDim);
    const x = random(rng, inDim);
    const hf = toHfLinear(w, inDim, outDim, headDim);
    for (let o = 0; o < outDim; o++) {
      let ours = 0;
      for (let i = 0; i < inDim; i++) ours += x[i] * w[i * outDim + o];
      const row = Math.floor(o / headDim) * headDim + hfFeatureOfUnilab(o % headDim, headDim);
      let theirs = 0;
      for (let i = 0; i < inDim; i++) theirs += hf[row * inDim + i] * x[i];
      expect(theirs).toBeCloseTo(ours, 6);
    }
    expect(fromHfLinear(hf, inDim, outDim, headDim)).toEqual(w);
    expect(fromHfLinear(toHfLinear(w, inDim, outDim), inDim, outDim)).toEqual(w);
  });
});
