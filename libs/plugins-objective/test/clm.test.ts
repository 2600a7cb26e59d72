import { describe, expect, it } from 'vitest';
import { Rng, type Batch } from '@unilab/core';
import { clm } from '../src/clm.ts';
import { expectBatchContract } from './helpers/batch-contract.ts';
import { byteContext } from '../src/byte-token-view.ts';
import { arrayStream, sotuDocuments } from './helpers/real-text.ts';

const documents = sotuDocuments(3).map((doc, i) => doc.subarray(0, 300 + 97 * i));
const context = byteContext(clm.specialTokens, { batchSize: 3, seqLen: 128, form: 'single-stack' });
const { eos, pad } = context.specialTokens;

function batcher(seed = 1) {
  return clm.createBatcher(clm.configSchema.parse({}, 'objective'), context, arrayStream(documents), new Rng(seed));
}

/** The document tokens of every segment, in order, with the eos markers kept. */
function segmentsOf(batch: Batch): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < batch.tokens.length; i++) {
    const t = i % batch.seqLen;
    if (batch.segmentIds[i] < 0) continue;
    if (t === 0 || batch.segmentIds[i] !== batch.segmentIds[i - 1]) out.push([]);
    out[out.length - 1].push(batch.tokens[i]);
  }
  return out;
}

describe('clm', () => {
  it('packs real documents, each ended by eos, and obeys the batch contract', () => {
    const b = batcher();
    const stream: number[] = [];
    for (let i = 0; i < 12; i++) {
      const batch = b.next();
      expectBatchContract(batch, pad, context.vocabSize);
      expect(Array.from(batch.prefixEnd).every((p) => p === 0)).toBe(true);
      for (const segment of segmentsOf(batch)) stream.push(...segment);
    }
    const expected = documents.flatMap((doc) => [...doc, eos]);
    expect(stream.slice(0, 2 * expected.length).filter((t) => t !== eos)).toEqual(
      [...expected, ...expected].filter((t) => t !== eos),
    );
  });

  it('targets the next token of the same document, eos after the last, and never across documents', () => {
    const b = batcher();
    const stream = documents.flatMap((doc) => [...doc, eos]);
    let cursor = 0;
    for (let i = 0; i < 6; i++) {
      const batch = b.next();
      for (let at = 0; at < batch.tokens.length; at++) {
        if (batch.segmentIds[at] < 0) continue;
        // The eos that a cut already used as a target is not repeated: skip it in the reference stream too.
        if (stream[cursor % stream.length] === eos && batch.tokens[at] !== eos) cursor++;
        expect(batch.tokens[at]).toBe(stream[cursor % stream.length]);
        if (batch.tokens[at] === eos) expect(batch.lossMask[at]).toBe(0);
        else {
          expect(batch.lossMask[at]).toBe(1);
          expect(batch.targets[at]).toBe(stream[(cursor + 1) % stream.length]);
        }
        cursor++;
      }
    }
  });

  it('resumes from state() exactly as an uninterrupted batcher', () => {
    const straight = batcher(7);
    const expected = Array.from({ length: 8 }, () => straight.next());
    const first = batcher(7);
    for (let i = 0; i < 3; i++) first.next();
    const saved = JSON.parse(JSON.stringify(first.state()));
    const resumed = batcher(99);
    resumed.restore(saved);
    for (let i = 3; i < 8; i++) expect(resumed.next()).toEqual(expected[i]);
  });
});
