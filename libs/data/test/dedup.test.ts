import { describe, expect, it } from 'vitest';
import { Rng } from '@unilab/core';
import { createNearDuplicateIndex, exactDedupStage, minhashDedupStage, readBrown } from '../src/index.ts';
import { candidateProbability, normalizedWords } from '../src/dedup/minhash.ts';
import { bandingForThreshold } from '../src/dedup/lsh-banding.ts';

/** Word 5-gram shingle sets compared exactly: the ground truth the planted pairs are built against. */
function shingles(text: string, n = 5): Set<string> {
  const ws = normalizedWords(text);
  const out = new Set<string>();
  for (let i = 0; i + n <= ws.length; i++) out.add(ws.slice(i, i + n).join(' '));
  return out;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

/**
 * Plant a near-duplicate: replace words at random, well-spread positions until the shingle Jaccard similarity
 * with the original falls to the target (each edit changes up to 5 shingles).
 */
function nearDuplicate(text: string, target: number, rng: Rng, vocabulary: readonly string[]): { text: string; similarity: number } {
  const original = shingles(text);
  const words = text.split(/\s+/);
  const used = new Set<number>();
  let similarity = 1;
  while (similarity > target + 0.01) {
    const at = rng.int(words.length);
    if (used.has(at)) continue;
    used.add(at);
    words[at] = vocabulary[rng.int(vocabulary.length)] + 'q';
    similarity = jaccard(original, shingles(words.join(' ')));
  }
  return { text: words.join(' '), similarity };
}

/** Brown documents cut into 300-word passages: real, distinct English text. */
async function passages(count: number): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readBrown()) {
    const ws = d.text.split(/\s+/);
    for (let i = 0; i + 300 <= ws.length && out.length < count; i += 300) out.push(ws.slice(i, i + 300).join(' '));
    if (out.length >= count) break;
  }
  return out;
}

async function plantedRecall(bands: number, rows: number, target: number, originals: readonly string[], rng: Rng) {
  const vocabulary = originals.flatMap((t) => t.split(/\s+/)).slice(0, 5000);
  const index = await createNearDuplicateIndex(minhashDedupStage.configSchema.parse({ bands, rows }, 'config'));
  originals.forEach((t, i) => expect(index.add(`orig-${i}`, t)).toBeNull());
  let found = 0;
  const similarities: number[] = [];
  originals.forEach((t, i) => {
    const { text, similarity } = nearDuplicate(t, target, rng, vocabulary);
    similarities.push(similarity);
    if (index.add(`dup-${i}`, text) === `orig-${i}`) found++;
  });
  return { recall: found / originals.length, similarities };
}

describe('MinHash LSH near-duplicate removal', () => {
  it('finds >= 95% of planted near-duplicates at Jaccard 0.8 (20 bands x 5 rows) and flags <= 1% of unrelated passages', async () => {
    const all = await passages(600);
    const originals = all.slice(0, 300);
    const unrelated = all.slice(300);
    const { recall, similarities } = await plantedRecall(20, 5, 0.8, originals, new Rng(7));
    for (const s of similarities) expect(s).toBeGreaterThanOrEqual(0.78);
    expect(Math.max(...similarities)).toBeLessThanOrEqual(0.81);
    expect(recall).toBeGreaterThanOrEqual(0.95);

    const index = await createNearDuplicateIndex(minhashDedupStage.configSchema.parse({ bands: 20, rows: 5 }, 'config'));
    let flagged = 0;
    for (const [i, t] of [...originals, ...unrelated].entries()) if (index.add(`u-${i}`, t) !== null) flagged++;
    expect(flagged / (originals.length + unrelated.length)).toBeLessThanOrEqual(0.01);
  });

  it('with the FineWeb default (14 bands x 8 rows) recall follows the S-curve: ~92% at 0.8, >= 95% at 0.85', async () => {
    const originals = await passages(300);
    expect(candidateProbability(0.8, 14, 8)).toBeCloseTo(0.924, 3);
    const at08 = await plantedRecall(14, 8, 0.8, originals, new Rng(11));
    expect(at08.recall).toBeGreaterThanOrEqual(0.86);
    const at085 = await plantedRecall(14, 8, 0.85, originals, new Rng(12));
    expect(at085.recall).toBeGreaterThanOrEqual(0.95);
  });

  it('keeps the first document of each cluster, joins clusters transitively and is deterministic', async () => {
    const [a] = await passages(1);
    const rng = new Rng(3);
    const vocab = a.split(/\s+/);
    const b = nearDuplicate(a, 0.9, rng, vocab).text;
    const c = nearDuplicate(b, 0.9, rng, vocab).text;
    const run = async () => {
      const stage = await minhashDedupStage.create(minhashDedupStage.configSchema.parse({}, 'config'));
      const out = [];
      for (const [id, text] of [
        ['a', a],
        ['b', b],
        ['c', c],
      ])
        out.push(await stage.process({ id, source: 's', text }));
      return { out, summary: stage.summary?.() };
    };
    const first = await run();
    expect(first.out.map((d) => d.keep)).toEqual([true, false, false]);
    expect(first.summary).toMatchObject({ clusters: 1, clustered_documents: 3 });
    expect(await run()).toEqual(first);
  });
});

describe('MinHash LSH with a Jaccard threshold instead of bands x rows', () => {
  it('chooses the banding whose S-curve crosses near the threshold (MMDS §3.4.3), within the hash budget', () => {
    for (const threshold of [0.5, 0.7, 0.8, 0.9])
      for (const hashes of [112, 256]) {
        const { bands, rows } = bandingForThreshold(threshold, hashes);
        expect(bands * rows).toBeLessThanOrEqual(hashes);
        // The curve crosses the threshold between 35% and 60% (the integer grid keeps it off exactly 50%).
        expect(candidateProbability(threshold, bands, rows)).toBeGreaterThan(0.35);
        expect(candidateProbability(threshold, bands, rows)).toBeLessThan(0.6);
        expect(candidateProbability(threshold + 0.1, bands, rows)).toBeGreaterThan(0.8);
        expect(candidateProbability(threshold - 0.15, bands, rows)).toBeLessThan(0.12);
      }
    expect(bandingForThreshold(0.8, 112)).toMatchObject({ bands: 9, rows: 12 });
  });

  it('threshold 0.7 catches >= 95% of planted pairs at Jaccard 0.85 and none of 600 unrelated passages', async () => {
    const all = await passages(600);
    const config = minhashDedupStage.configSchema.parse({ threshold: 0.7 }, 'config');
    expect(config).toMatchObject({ bands: 12, rows: 9, threshold: 0.7 });
    const originals = all.slice(0, 300);
    const vocabulary = originals.flatMap((t) => t.split(/\s+/)).slice(0, 5000);
    const index = await createNearDuplicateIndex(config);
    originals.forEach((t, i) => expect(index.add(`orig-${i}`, t)).toBeNull());
    const rng = new Rng(21);
    let found = 0;
    originals.forEach((t, i) => {
      if (index.add(`dup-${i}`, nearDuplicate(t, 0.85, rng, vocabulary).text) === `orig-${i}`) found++;
    });
    expect(found / originals.length).toBeGreaterThanOrEqual(0.95);
    const fresh = await createNearDuplicateIndex(config);
    expect(all.filter((t, i) => fresh.add(`u-${i}`, t) !== null)).toHaveLength(0);
  });

  it('refuses a threshold together with bands or rows, and hashes without a threshold', () => {
    const parse = (c: unknown) => () => minhashDedupStage.configSchema.parse(c, 'stages[3].config');
    expect(parse({ threshold: 0.8, bands: 14 })).toThrow(/stages\[3\]\.config\.threshold: give either threshold/);
    expect(parse({ hashes: 128 })).toThrow(/stages\[3\]\.config\.hashes: only used with threshold/);
    expect(parse({ threshold: 1.5 })).toThrow(/stages\[3\]\.config\.threshold/);
    expect(minhashDedupStage.configSchema.parse({}, 'c')).toMatchObject({ bands: 14, rows: 8 });
  });
});

describe('exact deduplication', () => {
  it('drops a copy that differs only in case and whitespace, keeps a one-word change', async () => {
    const stage = await exactDedupStage.create(exactDedupStage.configSchema.parse({}, 'config'));
    const doc = (id: string, text: string) => ({ id, source: 's', text });
    expect(await stage.process(doc('a', 'The cat sat on the mat.'))).toEqual({ keep: true });
    expect(await stage.process(doc('b', '  the CAT sat\n on the   mat. '))).toEqual({ keep: false, reason: 'exact_duplicate' });
    expect(await stage.process(doc('c', 'The dog sat on the mat.'))).toEqual({ keep: true });
  });
});
