import { describe, expect, it } from 'vitest';
import { createReferenceBackend } from '../src/backends/reference/reference-backend.ts';
import { Rng } from '../src/rng.ts';
import { randomArray } from './gradcheck.ts';

// The descriptor kernel against attention with a dense mask built from each mode's mathematical definition.
const be = createReferenceBackend();

function denseAttention(q: Float32Array, k: Float32Array, v: Float32Array, allowed: boolean[][], t: number, d: number, scale: number): Float32Array {
  const out = new Float32Array(t * d);
  for (let i = 0; i < t; i++) {
    const scores = Array.from({ length: t }, (_, j) => {
      let s = 0;
      for (let c = 0; c < d; c++) s += q[i * d + c] * k[j * d + c];
      return allowed[i][j] ? s * scale : -Infinity;
    });
    const max = Math.max(...scores);
    if (max === -Infinity) continue;
    const e = scores.map((s) => Math.exp(s - max));
    const z = e.reduce((a, b) => a + b, 0);
    for (let j = 0; j < t; j++) for (let c = 0; c < d; c++) out[i * d + c] += (e[j] / z) * v[j * d + c];
  }
  return out;
}

const T = 9;
const modes: Record<string, { segments: number[]; prefixEnd: number[]; allowed: (i: number, j: number) => boolean }> = {
  causal: { segments: Array(T).fill(0), prefixEnd: Array(T).fill(0), allowed: (i, j) => j <= i },
  bidirectional: { segments: Array(T).fill(0), prefixEnd: Array(T).fill(T), allowed: () => true },
  'prefix-lm (prefix of 4)': { segments: Array(T).fill(0), prefixEnd: Array(T).fill(4), allowed: (i, j) => j < 4 || j <= i },
  'packed documents, causal': {
    segments: [0, 0, 0, 1, 1, 2, 2, 2, 2],
    prefixEnd: Array(T).fill(0),
    allowed: (i, j) => [0, 0, 0, 1, 1, 2, 2, 2, 2][i] === [0, 0, 0, 1, 1, 2, 2, 2, 2][j] && j <= i,
  },
  'GLM: Part A (5) bidirectional, Part B causal over A and itself': {
    segments: Array(T).fill(0),
    prefixEnd: [5, 5, 5, 5, 5, 5, 5, 5, 5],
    allowed: (i, j) => j < 5 || j <= i,
  },
  'UniLM seq2seq: source (3) bidirectional, target causal': {
    segments: Array(T).fill(0),
    prefixEnd: [3, 3, 3, 0, 0, 0, 0, 0, 0],
    allowed: (i, j) => (i < 3 ? j < 3 : j < 3 || j <= i),
  },
};

describe('attention mask descriptors equal dense masks', () => {
  const d = 5;
  it.each(Object.keys(modes))('%s', (name) => {
    const mode = modes[name];
    const rng = new Rng(11);
    const [q, k, v] = [randomArray(rng, T * d), randomArray(rng, T * d), randomArray(rng, T * d)];
    const seg = be.fromArray(new Int32Array(mode.segments), [1, T]);
    const mask = { querySegments: seg, keySegments: seg, prefixEnd: be.fromArray(new Int32Array(mode.prefixEnd), [1, T]) };
    const { out } = be.attention(be.fromArray(q, [1, T, 1, d]), be.fromArray(k, [1, T, 1, d]), be.fromArray(v, [1, T, 1, d]), mask, { scale: 0.4 });
    const allowed = Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => mode.allowed(i, j)));
    const expected = denseAttention(q, k, v, allowed, T, d, 0.4);
    const actual = be.readFloat(out);
    for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i], 5);
  });

  it('a query that may see no key yields zeros, never NaN', async () => {
    const seg = be.fromArray(new Int32Array([0, 1]), [1, 2]);
    const keys = be.fromArray(new Int32Array([0, 0]), [1, 2]);
    const x = be.fromArray(new Float32Array([1, 2, 3, 4]), [1, 2, 1, 2]);
    const { out, lse } = be.attention(x, x, x, { querySegments: seg, keySegments: keys, prefixEnd: be.zeros([1, 2], 'i32') }, { scale: 1 });
    const o = await be.read(out);
    expect(Array.from(o.slice(2))).toEqual([0, 0]);
    expect((await be.read(lse))[1]).toBe(-Infinity);
    const dy = be.fromArray(new Float32Array([1, 1, 1, 1]), [1, 2, 1, 2]);
    const mask = { querySegments: seg, keySegments: keys, prefixEnd: be.zeros([1, 2], 'i32') };
    const g = be.attentionBackward(dy, x, x, x, out, lse, mask, { scale: 1 });
    for (const grad of [g.dq, g.dk, g.dv]) expect(Array.from(await be.read(grad)).every(Number.isFinite)).toBe(true);
  });
});
