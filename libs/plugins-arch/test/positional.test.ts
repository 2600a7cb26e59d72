import { describe, expect, it } from 'vitest';
import { Rng, Tape, Var, createReferenceBackend, type PositionalEncoding, type PositionalEncodingPlugin } from '@unilab/core';
import { alibiSlopes, positionalEncodingPlugins, relativePositionBucket, sinusoidalTable } from '../src/index.ts';

const backend = createReferenceBackend({ precision: 'f64' });

function encoding(name: string, heads = 2, headDim = 8, config: Record<string, unknown> = {}, attention: 'causal' | 'bidirectional' = 'bidirectional'): PositionalEncoding {
  const plugin = positionalEncodingPlugins.find((p) => p.name === name) as PositionalEncodingPlugin<any>;
  return plugin.create(plugin.configSchema.parse(config, 'config'), {
    backend,
    rng: new Rng(1),
    prefix: '',
    dModel: heads * headDim,
    heads,
    headDim,
    attention,
  });
}

/** q·k after rotating q at (m, mb) and k at (n, nb), one head of size d. */
function rotatedScore(pe: PositionalEncoding, q: Float32Array, k: Float32Array, m: number[], n: number[]): number {
  const tape = new Tape(backend, false);
  const d = q.length;
  const at = (p: number[]) => ({
    positions: tape.own(backend.fromArray(new Int32Array([p[0]]), [1, 1], 'i32')),
    blockPositions: p.length > 1 ? tape.own(backend.fromArray(new Int32Array([p[1]]), [1, 1], 'i32')) : undefined,
  });
  const rq = backend.readFloat(pe.rotate!(tape, new Var(tape.own(backend.fromArray(q, [1, 1, 1, d])), false), at(m), 'query').value);
  const rk = backend.readFloat(pe.rotate!(tape, new Var(tape.own(backend.fromArray(k, [1, 1, 1, d])), false), at(n), 'key').value);
  tape.release();
  let dot = 0;
  for (let c = 0; c < d; c++) dot += rq[c] * rk[c];
  return dot;
}

describe('rotary encodings: attention scores depend only on the offset', () => {
  const rng = new Rng(4);
  const vector = (d: number) => Float32Array.from({ length: d }, () => rng.normal());

  it('rope: q_m·k_n = q_{m+s}·k_{n+s} for any shift s, and differs across offsets', () => {
    const pe = encoding('rope', 1, 16, { base: 100 });
    const [q, k] = [vector(16), vector(16)];
    for (const [m, n] of [[3, 1], [0, 7], [12, 12]]) {
      const score = rotatedScore(pe, q, k, [m], [n]);
      for (const s of [1, 5, 40, 513]) expect(rotatedScore(pe, q, k, [m + s], [n + s])).toBeCloseTo(score, 9);
    }
    expect(Math.abs(rotatedScore(pe, q, k, [3], [1]) - rotatedScore(pe, q, k, [4], [1]))).toBeGreaterThan(1e-3);
  });

  it('rope-2d: the score depends only on the offsets of both position dimensions', () => {
    const pe = encoding('rope-2d', 1, 16);
    const [q, k] = [vector(16), vector(16)];
    const score = rotatedScore(pe, q, k, [5, 2], [3, 0]);
    expect(rotatedScore(pe, q, k, [9, 3], [7, 1])).toBeCloseTo(score, 9);
    expect(rotatedScore(pe, q, k, [105, 20], [103, 18])).toBeCloseTo(score, 9);
    // A different block offset alone changes the score: Part B tokens of one span are told apart.
    expect(Math.abs(rotatedScore(pe, q, k, [5, 3], [3, 0]) - score)).toBeGreaterThan(1e-3);
  });
});

describe('ALiBi (Press et al. 2022)', () => {
  it('slopes for 8 heads are 1/2, 1/4, ..., 1/256', () => {
    expect(alibiSlopes(8)).toEqual([1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256]);
  });

  it('slopes for 12 heads follow the non-power-of-2 rule: the 8-head slopes, then every other 16-head slope', () => {
    const expected = [...[1, 2, 3, 4, 5, 6, 7, 8].map((i) => 2 ** -i), 2 ** -0.5, 2 ** -1.5, 2 ** -2.5, 2 ** -3.5];
    alibiSlopes(12).forEach((s, i) => expect(s).toBeCloseTo(expected[i], 15));
    alibiSlopes(16).forEach((s, i) => expect(Math.log2(s)).toBeCloseTo(-(i + 1) / 2, 12));
    expect(alibiSlopes(1)).toEqual([2 ** -8]);
  });

  it('the bias is -m_h·|i - j|', () => {
    const pe = encoding('alibi', 4, 2);
    const tape = new Tape(backend, false);
    const bias = backend.readFloat(pe.attentionBias!(tape, 5).value);
    tape.release();
    const slopes = alibiSlopes(4);
    for (let h = 0; h < 4; h++)
      for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) expect(bias[(h * 5 + i) * 5 + j]).toBeCloseTo(-slopes[h] * Math.abs(i - j), 6);
  });
});

describe('T5 relative position buckets (Raffel et al. 2020)', () => {
  it('bidirectional, 32 buckets, max distance 128: exact below 8, logarithmic to 128, keys after the query in the upper half', () => {
    const bucket = (relative: number) => relativePositionBucket(relative, true, 32, 128);
    expect([0, -1, -7, -8, -11, -16, -127, -128, -1000].map(bucket)).toEqual([0, 1, 7, 8, 8, 10, 15, 15, 15]);
    expect([1, 7, 8, 127, 1000].map(bucket)).toEqual([17, 23, 24, 31, 31]);
  });

  it('causal: 32 one-sided buckets, every key after the query in bucket 0', () => {
    const bucket = (relative: number) => relativePositionBucket(relative, false, 32, 128);
    expect([0, -1, -15, -16, -32, -127, -200].map(bucket)).toEqual([0, 1, 15, 16, 21, 31, 31]);
    expect([1, 50].map(bucket)).toEqual([0, 0]);
  });

  it('the bias gathers the learned table by bucket and head, and its gradient scatters back', () => {
    const pe = encoding('t5-relative', 2, 4, { numBuckets: 8, maxDistance: 16 }, 'causal');
    const [table] = pe.params;
    const values = backend.readFloat(table.value);
    const tape = new Tape(backend);
    const bias = pe.attentionBias!(tape, 6);
    const b = backend.readFloat(bias.value);
    for (let h = 0; h < 2; h++)
      for (let i = 0; i < 6; i++)
        for (let j = 0; j < 6; j++) expect(b[(h * 6 + i) * 6 + j]).toBe(values[relativePositionBucket(j - i, false, 8, 16) * 2 + h]);
    // With d loss / d bias = 1 everywhere, each table entry's gradient counts the (i, j) pairs in its bucket.
    const loss = tape.record('test-loss', backend.zeros([1]), [bias], () => tape.accumulate(bias, backend.fromArray(new Float32Array(72).fill(1), [2, 6, 6])));
    tape.backward(loss);
    tape.release();
    const counts = new Array(16).fill(0);
    for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) for (let h = 0; h < 2; h++) counts[relativePositionBucket(j - i, false, 8, 16) * 2 + h]++;
    expect(Array.from(backend.readFloat(table.grad))).toEqual(counts);
  });
});

describe('absolute encodings', () => {
  it('sinusoidal: PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...)', () => {
    const table = sinusoidalTable(50, 6, 10000);
    expect(table[0 * 6 + 0]).toBe(0);
    expect(table[0 * 6 + 1]).toBe(1);
    expect(table[7 * 6 + 2]).toBeCloseTo(Math.sin(7 / 10000 ** (2 / 6)), 6);
    expect(table[49 * 6 + 5]).toBeCloseTo(Math.cos(49 / 10000 ** (4 / 6)), 6);
  });

  it('learned absolute and GLM 2D add the rows of their tables to the token embeddings', async () => {
    for (const name of ['learned-absolute', 'glm-2d']) {
      const pe = encoding(name, 2, 2, { maxPositions: 10 });
      const tape = new Tape(backend, false);
      const x = new Var(tape.own(backend.fromArray(new Float32Array(2 * 4).fill(0.5), [1, 2, 4])), false);
      const positions = tape.own(backend.fromArray(new Int32Array([3, 7]), [1, 2], 'i32'));
      const blockPositions = tape.own(backend.fromArray(new Int32Array([0, 2]), [1, 2], 'i32'));
      const y = backend.readFloat(pe.embed!(tape, x, { positions, blockPositions }).value);
      tape.release();
      const [positionTable, blockTable] = pe.params.map((p) => backend.readFloat(p.value));
      for (let c = 0; c < 4; c++) {
        expect(y[c]).toBeCloseTo(0.5 + positionTable[3 * 4 + c] + (blockTable ? blockTable[0 * 4 + c] : 0), 12);
        expect(y[4 + c]).toBeCloseTo(0.5 + positionTable[7 * 4 + c] + (blockTable ? blockTable[2 * 4 + c] : 0), 12);
      }
    }
  });
});
