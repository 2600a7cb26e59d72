import { describe, expect, it } from 'vitest';
import { Tape, createReferenceBackend, uploadBatch, type Batch, type Model } from '@unilab/core';
import { buildModel, rawConfig } from './models.ts';
import { exampleAt, glmExample, packBatch, visibleInExample, type ExampleLayout, type PackedBatch } from './batches.ts';

// With one layer, the logits at query i depend on input token j exactly when i attends to j (or j = i): every other
// operation is per position. Perturbing each token in turn therefore reads the attention mask the model actually
// applies, which must equal the mathematical definition of each architecture's masks on packed documents.
const backend = createReferenceBackend();
const VOCAB = 13;

async function logitsOf(model: Model, batch: Batch): Promise<Float32Array> {
  const tape = new Tape(backend, false);
  try {
    return (await backend.read(model.forward(tape, uploadBatch(tape, batch)).value)) as Float32Array;
  } finally {
    tape.release();
  }
}

/** seen[row][i] = the positions j (and encoder positions, prefixed 'e') whose token changes logits at i. */
async function observedDependencies(name: string, packed: PackedBatch, overrides: Record<string, unknown> = {}): Promise<Set<string>[][]> {
  const model = buildModel(name, backend, VOCAB, rawConfig(name, 1, { dModel: 8, heads: 2, ...overrides }));
  const { batch } = packed;
  const t = batch.seqLen;
  const base = await logitsOf(model, batch);
  const seen = Array.from({ length: batch.batchSize }, () => Array.from({ length: t }, () => new Set<string>()));
  const record = (changed: Float32Array, key: string, row: number) => {
    for (let r = 0; r < batch.batchSize; r++)
      for (let i = 0; i < t; i++) {
        const o = (r * t + i) * VOCAB;
        let differs = false;
        for (let v = 0; v < VOCAB; v++) if (changed[o + v] !== base[o + v]) differs = true;
        if (differs) seen[r][i].add(r === row ? key : `row ${row} ${key}`);
      }
  };
  for (let r = 0; r < batch.batchSize; r++) {
    for (let j = 0; j < t; j++) {
      const tokens = batch.tokens.slice();
      tokens[r * t + j] = (tokens[r * t + j] + 1) % VOCAB;
      record(await logitsOf(model, { ...batch, tokens }), `${j}`, r);
    }
    const e = batch.encoder;
    if (e)
      for (let j = 0; j < e.encoderLen; j++) {
        const tokens = e.tokens.slice();
        tokens[r * e.encoderLen + j] = (tokens[r * e.encoderLen + j] + 1) % VOCAB;
        record(await logitsOf(model, { ...batch, encoder: { ...e, tokens } }), `e${j}`, r);
      }
  }
  return seen;
}

/** The definition: same example and visible under its mode; an encoder-decoder query sees its own example's encoder. */
function expectedDependencies(packed: PackedBatch, i: number, row: number): Set<string> {
  const at = exampleAt(packed, row, i)!;
  const { start, encoderStart } = packed.rows[row][at.index];
  const keys = new Set<string>();
  for (let j = start; j < start + at.layout.length; j++) if (visibleInExample(at.layout.mode, at.offset, j - start)) keys.add(`${j}`);
  for (let j = 0; j < (at.layout.encoderLength ?? 0); j++) keys.add(`e${encoderStart + j}`);
  return keys;
}

const causal = (length: number): ExampleLayout => ({ length, mode: { kind: 'causal' } });
const bidirectional = (length: number): ExampleLayout => ({ length, mode: { kind: 'bidirectional' } });
const prefix = (length: number, p: number): ExampleLayout => ({ length, mode: { kind: 'prefix', prefix: p } });

const cases: Record<string, { rows: ExampleLayout[][]; encoderLen?: number; meaning: string }> = {
  decoder: { rows: [[causal(5), causal(6), causal(3)], [causal(9), causal(4)]], meaning: 'causal within each document' },
  'prefix-lm': {
    rows: [[prefix(6, 3), prefix(5, 2), prefix(3, 1)], [prefix(8, 5), prefix(4, 4)]],
    meaning: 'bidirectional over each prefix, causal after it',
  },
  unilm: {
    // Bidirectional, seq2seq (source of 3), left-to-right; right-to-left (left-to-right over the reversed text), bidirectional.
    rows: [[bidirectional(4), prefix(6, 3), causal(4)], [causal(5), bidirectional(6), prefix(4, 2)]],
    meaning: 'per example: bidirectional, seq2seq, left-to-right or right-to-left',
  },
  glm: {
    // Part A x1 x2 [M] x4 [M] with spans of 2 and 1 tokens in Part B (Du et al. 2022 Fig. 2), then a second example.
    rows: [[glmExample(5, [2, 4], [2, 1]), glmExample(3, [1], [1])], [glmExample(6, [0, 3, 5], [1, 1, 2])]],
    meaning: 'Part A bidirectional, Part B causal over Part A and its own past',
  },
  encoder: { rows: [[bidirectional(7), bidirectional(4), bidirectional(3)], [bidirectional(10)]], meaning: 'bidirectional within each document' },
  'encoder-decoder': {
    rows: [
      [{ ...causal(5), encoderLength: 4 }, { ...causal(4), encoderLength: 6 }, { ...causal(3), encoderLength: 2 }],
      [{ ...causal(7), encoderLength: 9 }, { ...causal(2), encoderLength: 3 }],
    ],
    encoderLen: 14,
    meaning: 'decoder causal within its example, cross-attending to its own encoder example only',
  },
};

describe('every architecture applies exactly its mathematical mask on packed multi-document batches', () => {
  it.each(Object.keys(cases))('%s', async (name) => {
    const { rows, encoderLen = 0, meaning } = cases[name];
    const packed = packBatch(rows, 16, VOCAB, 3, encoderLen);
    const seen = await observedDependencies(name, packed);
    for (let row = 0; row < rows.length; row++)
      for (let i = 0; i < 16; i++) {
        if (!exampleAt(packed, row, i)) continue;
        expect([...seen[row][i]].sort(), `${name} (${meaning}): row ${row}, query ${i}`).toEqual([...expectedDependencies(packed, i, row)].sort());
      }
  });
});

describe('the causal decoder is T5\'s "Language model", prefix-lm its "Prefix LM" (Raffel et al. 2020 Table 2)', () => {
  // The same seq2seq batch (prefixes marked bidirectional by the objective): the decoder reads it left to right, so
  // `decoder` and `prefix-lm` stay two models under seq2seq objectives, and an encoding without positions or with
  // causal-only T5 buckets never meets a bidirectional prefix.
  const rows = [[prefix(6, 3), prefix(5, 2), prefix(3, 1)], [prefix(8, 5), prefix(4, 4)]];
  const asCausal = (packed: PackedBatch): PackedBatch => ({ ...packed, rows: packed.rows.map((r) => r.map((e) => ({ ...e, layout: { ...e.layout, mode: { kind: 'causal' } } }))) });
  it.each([['rope'], ['none'], ['t5-relative']])('decoder with %s: causal inside the prefix too', async (encoding) => {
    const packed = packBatch(rows, 16, VOCAB, 3);
    const seen = await observedDependencies('decoder', packed, { positionalEncoding: encoding });
    const causalView = asCausal(packed);
    let prefixQueries = 0;
    for (let row = 0; row < rows.length; row++)
      for (let i = 0; i < 16; i++) {
        const at = exampleAt(packed, row, i);
        if (!at) continue;
        if (at.layout.mode.kind === 'prefix' && at.offset < at.layout.mode.prefix - 1) prefixQueries++;
        expect([...seen[row][i]].sort(), `decoder/${encoding}: row ${row}, query ${i}`).toEqual([...expectedDependencies(causalView, i, row)].sort());
      }
    expect(prefixQueries).toBeGreaterThan(5);
  });
  it('prefix-lm with t5-relative: bidirectional over the same prefixes', async () => {
    const packed = packBatch(rows, 16, VOCAB, 3);
    const seen = await observedDependencies('prefix-lm', packed, { positionalEncoding: 't5-relative' });
    for (let row = 0; row < rows.length; row++)
      for (let i = 0; i < 16; i++) if (exampleAt(packed, row, i)) expect([...seen[row][i]].sort()).toEqual([...expectedDependencies(packed, i, row)].sort());
  });
});
