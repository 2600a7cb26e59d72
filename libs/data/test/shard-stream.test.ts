import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataStagePlugins, fnv1a, openStreamedShardDataset, parsePipelineSpec, readShardDataset, readSotu, runPipeline, unigramEntropy } from '../src/index.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'unilab-shards-'));
const HELD_OUT = 0.1;

/**
 * A real dataset with many small shards: whole State of the Union addresses (each runs across several shards) and
 * the sentences of others, one document each (many to a shard), BPE-tokenized and packed by the pipeline.
 */
async function buildDataset(): Promise<string> {
  const dir = tmp();
  const sotu = await readSotu();
  const texts = [...sotu.slice(0, 6).map((d) => d.text), ...sotu.slice(6, 30).flatMap((d) => d.text.split(/(?<=[.!?])\s+/))];
  writeFileSync(join(dir, 'sotu.jsonl'), texts.map((text) => JSON.stringify({ text })).join('\n') + '\n');
  const out = join(dir, 'dataset');
  const spec = parsePipelineSpec(
    {
      output: out,
      sources: [{ name: 'sotu', path: join(dir, 'sotu.jsonl'), format: 'jsonl' }],
      tokenizer: { vocabSize: 400, objectives: [] },
      pack: { seqLen: 64, sequencesPerShard: 16 },
    },
    dataStagePlugins,
  );
  await runPipeline({ spec });
  return out;
}

/** The documents training used to get from the whole reader: non-empty ones, split by the hash of their index. */
async function wholeSplit(dir: string, fraction = HELD_OUT): Promise<{ train: Int32Array[]; heldOut: Int32Array[] }> {
  const docs = (await readShardDataset(dir)).documents.filter((d) => d.length > 0);
  const train: Int32Array[] = [];
  const heldOut: Int32Array[] = [];
  docs.forEach((d, i) => (fnv1a(`doc-${i}`) / 4294967296 < fraction ? heldOut : train).push(d));
  if (heldOut.length === 0 && train.length > 1) heldOut.push(train.pop()!);
  return { train, heldOut };
}

const key = (d: Int32Array) => Array.from(d).join(',');
const multiset = (docs: Int32Array[]) => docs.map(key).sort();
const take = (stream: { next(): { tokens: Int32Array } }, n: number) => Array.from({ length: n }, () => stream.next().tokens);

describe('streamed shard reader', () => {
  let dataset: string;
  beforeAll(async () => {
    dataset = await buildDataset();
  });

  it('yields exactly the documents of the whole reader once per epoch, in a new order each epoch', async () => {
    const whole = await wholeSplit(dataset);
    const data = await openStreamedShardDataset(dataset, { heldOutFraction: HELD_OUT });
    expect(data.index.shards.length).toBeGreaterThan(30);
    expect(data.scan.train.documents).toBe(whole.train.length);
    expect(data.scan.heldOut.documents).toBe(whole.heldOut.length);
    expect(data.scan.train.tokens).toBe(whole.train.reduce((n, d) => n + d.length, 0));
    expect(data.scan.heldOut.tokens).toBe(whole.heldOut.reduce((n, d) => n + d.length, 0));
    expect(data.scan.unigramEntropy).toBe(unigramEntropy(whole.train, data.tokenizer.vocabSize));

    const stream = data.stream('train', 7, 64 << 10);
    const epoch0 = take(stream, whole.train.length);
    expect(stream.cursor()).toMatchObject({ epoch: 0 });
    const epoch1 = take(stream, whole.train.length);
    expect(stream.cursor()).toMatchObject({ epoch: 1 });
    expect(multiset(epoch0)).toEqual(multiset(whole.train));
    expect(multiset(epoch1)).toEqual(multiset(whole.train));
    expect(epoch1.map(key)).not.toEqual(epoch0.map(key));
    // Not the packing order either: the shards and the windows were shuffled.
    expect(epoch0.map(key)).not.toEqual(whole.train.map(key));

    const heldOut = data.stream('heldOut', 7, 64 << 10);
    expect(multiset(take(heldOut, whole.heldOut.length))).toEqual(multiset(whole.heldOut));
  });

  it('holds out the last document when the hash holds out none, as the whole reader did', async () => {
    const whole = await wholeSplit(dataset, 1e-7);
    expect(whole.heldOut).toHaveLength(1);
    const data = await openStreamedShardDataset(dataset, { heldOutFraction: 1e-7 });
    expect(data.scan.heldOut).toEqual({ documents: 1, tokens: whole.heldOut[0].length });
    expect(data.scan.unigramEntropy).toBe(unigramEntropy(whole.train, data.tokenizer.vocabSize));
    expect(take(data.stream('heldOut', 1, 4096), 2).map(key)).toEqual([key(whole.heldOut[0]), key(whole.heldOut[0])]);
    expect(multiset(take(data.stream('train', 1, 4096), whole.train.length))).toEqual(multiset(whole.train));
  });

  it('never holds more than its window and read buffers, a small part of the dataset', async () => {
    const data = await openStreamedShardDataset(dataset, { heldOutFraction: HELD_OUT, readBytes: 4096 });
    const datasetBytes = data.index.shards.reduce((n, s) => n + statSync(join(dataset, s.file)).size + statSync(join(dataset, s.boundaries)).size, 0);
    const longest = Math.max(...(await wholeSplit(dataset)).train.map((d) => d.byteLength));
    const window = longest + (8 << 10);
    const stream = data.stream('train', 3, window);
    // The window plus a 4096-byte token buffer and a 4092-byte (341 boundaries) buffer.
    expect(stream.maxHeldBytes).toBe(window + 4096 + 4092);
    for (let i = 0; i < 2 * data.scan.train.documents; i++) {
      stream.next();
      expect(stream.heldBytes()).toBeLessThanOrEqual(stream.maxHeldBytes);
    }
    expect(stream.peakHeldBytes()).toBeLessThanOrEqual(stream.maxHeldBytes);
    expect(stream.peakHeldBytes()).toBeGreaterThan(window / 2);
    expect(stream.maxHeldBytes).toBeLessThan(datasetBytes / 4);
  });

  it('resumed from a cursor in the middle of a shard and window, continues exactly as without the stop', async () => {
    const data = await openStreamedShardDataset(dataset, { heldOutFraction: HELD_OUT });
    const straight = data.stream('train', 11, 4 << 10);
    // Stop where a window begins inside a shard (not at its first document) and has handed out some documents.
    const inside = () => {
      const c = straight.cursor() as { segment: number; taken: number };
      return c.segment > 1 && c.taken > 0;
    };
    for (let n = 0; !inside(); n++) {
      expect(n).toBeLessThan(data.scan.train.documents);
      straight.next();
    }
    const cursor = JSON.parse(JSON.stringify(straight.cursor()));
    // Far enough to cross into the next epoch.
    const after = take(straight, data.scan.train.documents);

    const resumed = data.stream('train', 11, 4 << 10);
    resumed.seek(cursor);
    expect(take(resumed, after.length).map(key)).toEqual(after.map(key));
    expect(resumed.cursor()).toEqual(straight.cursor());
    expect(() => resumed.seek({ epoch: 0, shard: 10_000, segment: 0, taken: 0 })).toThrow(/invalid cursor/);
  });

  it('refuses a damaged, truncated or missing shard, naming the file', async () => {
    const damaged = (change: (shard: string) => void) => {
      const dir = join(tmp(), 'dataset');
      cpSync(dataset, dir, { recursive: true });
      change(join(dir, 'shard-00003.bin'));
      return dir;
    };
    const flipped = damaged((f) => {
      const bytes = readFileSync(f);
      bytes[100] ^= 0x40;
      writeFileSync(f, bytes);
    });
    await expect(openStreamedShardDataset(flipped, { heldOutFraction: HELD_OUT })).rejects.toThrow(/^shard .*shard-00003\.bin is damaged: its CRC-32 is \d+, the index says \d+$/);
    const cut = damaged((f) => truncateSync(f, 1000));
    await expect(openStreamedShardDataset(cut, { heldOutFraction: HELD_OUT })).rejects.toThrow(/^shard .*shard-00003\.bin holds 1000 bytes; the index promises 16 sequences of 64 uint16 \(2048 bytes\)$/);
    const gone = damaged((f) => unlinkSync(f));
    await expect(openStreamedShardDataset(gone, { heldOutFraction: HELD_OUT })).rejects.toThrow(/^shard .*shard-00003\.bin does not exist$/);

    // A shard cut short while training reads the dataset is caught when the stream next opens it.
    const later = join(tmp(), 'dataset');
    cpSync(dataset, later, { recursive: true });
    const data = await openStreamedShardDataset(later, { heldOutFraction: HELD_OUT });
    const stream = data.stream('train', 1, 16 << 10);
    truncateSync(join(later, 'shard-00003.bin'), 1000);
    expect(() => take(stream, 2 * data.scan.train.documents)).toThrow(/^shard .*shard-00003\.bin holds 1000 bytes/);
  });
});
