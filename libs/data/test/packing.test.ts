import { describe, expect, it } from 'vitest';
import { Rng } from '@unilab/core';
import { MixtureInterleaver, SequencePacker, planMixture, positionDocumentIds, readBrown, readSotu, type PackedShard } from '../src/index.ts';

const EOS = 1;
const PAD = 0;

function randomDocuments(rng: Rng, count: number): Int32Array[] {
  // Lengths from empty to several sequences long; ids >= 2 so EOS and PAD are recognisable.
  return Array.from({ length: count }, () => Int32Array.from({ length: rng.int(rng.uniform() < 0.1 ? 200 : 40) }, () => 2 + rng.int(60000)));
}

function pack(docs: Int32Array[], seqLen: number, perShard: number): { shards: PackedShard[]; packer: SequencePacker } {
  const packer = new SequencePacker(seqLen, perShard, EOS, PAD);
  const shards: PackedShard[] = [];
  docs.forEach((d, i) => shards.push(...packer.add(i, d)));
  const last = packer.finish();
  if (last) shards.push(last);
  return { shards, packer };
}

describe('sequence packing', () => {
  it('never loses, duplicates or reorders a document, and every shard holds whole sequences', () => {
    for (const seed of [1, 2, 3]) {
      const rng = new Rng(seed);
      const docs = randomDocuments(rng, 300);
      const seqLen = 16 + rng.int(50);
      const { shards, packer } = pack(docs, seqLen, 1 + rng.int(8));
      const rebuilt: number[][] = docs.map(() => []);
      const seen = new Set<number>();
      let lastDoc = -1;
      for (const shard of shards) {
        expect(shard.tokens.length % seqLen).toBe(0);
        expect(shard.tokens.length / seqLen).toBe(shard.sequences);
        for (let i = 0; i < shard.segments.length; i += 3) {
          const [doc, start, length] = [shard.segments[i], shard.segments[i + 1], shard.segments[i + 2]];
          expect(doc).toBeGreaterThanOrEqual(lastDoc);
          lastDoc = doc;
          seen.add(doc);
          rebuilt[doc].push(...shard.tokens.subarray(start, start + length));
        }
      }
      expect(seen.size).toBe(docs.length);
      docs.forEach((d, i) => expect(rebuilt[i]).toEqual([...d, EOS]));
      const total = shards.reduce((n, s) => n + s.tokens.length, 0);
      expect(total).toBe(packer.documentTokens + packer.padTokens);
      expect(packer.padTokens).toBeLessThan(seqLen);
    }
  });

  it('gives every position its document id, and -1 to padding', () => {
    const { shards } = pack([Int32Array.of(5, 6, 7), Int32Array.of(8), Int32Array.of(9, 10)], 4, 10);
    expect(shards).toHaveLength(1);
    expect(Array.from(shards[0].tokens)).toEqual([5, 6, 7, EOS, 8, EOS, 9, 10, EOS, PAD, PAD, PAD]);
    expect(Array.from(positionDocumentIds(12, shards[0].segments))).toEqual([0, 0, 0, 0, 1, 1, 2, 2, 2, -1, -1, -1]);
  });

  it('splits a document across shard ends into segments that rejoin exactly', () => {
    const doc = Int32Array.from({ length: 25 }, (_, i) => 100 + i);
    const { shards } = pack([doc], 4, 2);
    expect(shards.map((s) => s.tokens.length)).toEqual([8, 8, 8, 4]);
    expect(shards.flatMap((s) => Array.from(s.tokens)).slice(0, 26)).toEqual([...doc, EOS]);
  });
});

describe('mixtures', () => {
  it('realise 0.6 / 0.3 / 0.1 shares of real corpora within 1%', async () => {
    const lengths = (texts: string[]) => texts.map((t) => 1 + Math.ceil(new TextEncoder().encode(t).length / 4));
    const sotu = (await readSotu()).map((d) => d.text);
    const brown = (await readBrown()).map((d) => d.text);
    const sources = [
      { name: 'prose', weight: 0.6, documentTokens: lengths(sotu) },
      { name: 'genres', weight: 0.3, documentTokens: lengths(brown) },
      // A small source has to repeat to reach its share.
      { name: 'small', weight: 0.1, documentTokens: lengths(brown.slice(0, 20)) },
    ];
    const sotuTokens = sources[0].documentTokens.reduce((a, b) => a + b, 0);
    const plan = planMixture(sources, { totalTokens: Math.floor(sotuTokens / 0.6) });
    const interleaver = new MixtureInterleaver([0.6, 0.3, 0.1], sources.map((s) => plan.take.get(s.name)!));
    const emitted = [0, 0, 0];
    const cursor = [0, 0, 0];
    let checkpoints = 0;
    for (let s = interleaver.next(); s >= 0; s = interleaver.next()) {
      const t = sources[s].documentTokens[cursor[s]++ % sources[s].documentTokens.length];
      interleaver.record(s, t);
      emitted[s] += t;
      const total = emitted[0] + emitted[1] + emitted[2];
      // Every long enough prefix is mixed too, not only the whole.
      if (total > 500_000 && ++checkpoints % 50 === 0) expect(Math.abs(emitted[0] / total - 0.6)).toBeLessThan(0.02);
    }
    const total = emitted.reduce((a, b) => a + b, 0);
    expect(Math.abs(emitted[0] / total - 0.6)).toBeLessThan(0.01);
    expect(Math.abs(emitted[1] / total - 0.3)).toBeLessThan(0.01);
    expect(Math.abs(emitted[2] / total - 0.1)).toBeLessThan(0.01);
    expect(plan.take.get('small')!).toBeGreaterThan(20);
  });

  it('refuses a weighted source with nothing left after filtering', () => {
    expect(() => planMixture([{ name: 'empty', weight: 1, documentTokens: [] }])).toThrow(/empty has no documents left/);
  });
});
