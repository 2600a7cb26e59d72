/**
 * Benchmark: MinHash LSH near-duplicate recall and false positives on real text. 600 Brown passages of 300 words;
 * for each of the first 300 a near-duplicate is planted by replacing words until the word 5-gram Jaccard
 * similarity with the original drops to the target; the other 300 are unrelated documents. Reports recall per
 * similarity and banding and the rate at which unrelated passages are flagged (throughput: bench/dedup.ts).
 *
 *   npx tsx --conditions=development libs/data/bench/dedup-recall.ts
 */
import { Rng } from '@unilab/core';
import { readBrown } from '../src/sources/brown.ts';
import { createNearDuplicateIndex, minhashDedupStage } from '../src/dedup/minhash-dedup.ts';
import { candidateProbability, normalizedWords } from '../src/dedup/minhash.ts';

function shingles(text: string): Set<string> {
  const ws = normalizedWords(text);
  const out = new Set<string>();
  for (let i = 0; i + 5 <= ws.length; i++) out.add(ws.slice(i, i + 5).join(' '));
  return out;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

function plant(text: string, target: number, rng: Rng, vocab: readonly string[]): string {
  const original = shingles(text);
  const words = text.split(/\s+/);
  let j = 1;
  while (j > target + 0.01) {
    words[rng.int(words.length)] = vocab[rng.int(vocab.length)] + 'q';
    j = jaccard(original, shingles(words.join(' ')));
  }
  return words.join(' ');
}

const passages: string[] = [];
for (const d of await readBrown()) {
  const ws = d.text.split(/\s+/);
  for (let i = 0; i + 300 <= ws.length && passages.length < 600; i += 300) passages.push(ws.slice(i, i + 300).join(' '));
}
const originals = passages.slice(0, 300);
const unrelated = passages.slice(300);
const vocab = originals.flatMap((t) => t.split(/\s+/)).slice(0, 5000);
/** Stage configs as a pipeline gives them: bands x rows, or a Jaccard threshold that picks them. */
const configs = [{}, { bands: 16, rows: 7 }, { bands: 20, rows: 5 }, { threshold: 0.7 }, { threshold: 0.8 }].map((c) =>
  minhashDedupStage.configSchema.parse(c, 'config'),
);
const targets = [0.7, 0.75, 0.8, 0.85, 0.9];
const planted = new Map(targets.map((t, i) => [t, originals.map((o) => plant(o, t, new Rng(100 + i), vocab))]));

console.log('| bands x rows | ' + targets.map((t) => `recall @J=${t}`).join(' | ') + ' | unrelated flagged |');
console.log('|---|' + targets.map(() => '---').join('|') + '|---|');
for (const config of configs) {
  const { bands, rows } = config;
  const cells: string[] = [];
  for (const t of targets) {
    const index = await createNearDuplicateIndex(config);
    originals.forEach((o, i) => index.add(`o${i}`, o));
    const found = planted.get(t)!.filter((d, i) => index.add(`d${i}`, d) === `o${i}`).length;
    cells.push(`${((found / originals.length) * 100).toFixed(1)}% (S-curve ${(candidateProbability(t, bands, rows) * 100).toFixed(1)}%)`);
  }
  const index = await createNearDuplicateIndex(config);
  const flagged = passages.filter((p, i) => index.add(`u${i}`, p) !== null).length;
  const name = config.threshold === undefined ? `${bands} x ${rows}` : `threshold ${config.threshold} → ${bands} x ${rows}`;
  console.log(`| ${name} | ${cells.join(' | ')} | ${flagged} of ${passages.length} |`);
}
