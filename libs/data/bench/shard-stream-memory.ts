/**
 * What the streamed shard reader holds against the size of the dataset it reads: scan a prepared dataset, stream one
 * epoch of its training documents with each window size, and report the most the stream held (its read buffers plus
 * the documents of its shuffle window) beside the dataset's shard bytes and the bytes the whole reader would hold
 * (every document as an Int32Array).
 *
 * Usage: npx tsx --conditions=development libs/data/bench/shard-stream-memory.ts <dataset dir> [windowBytes ...]
 *        npx tsx --conditions=development libs/data/bench/shard-stream-memory.ts <dataset dir> --whole
 * The second form reads the dataset whole instead (readShardDataset, what training did before), for the process's
 * peak memory to compare.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { openStreamedShardDataset, readShardDataset } from '../src/index.ts';

const [dir, ...windows] = process.argv.slice(2);
if (!dir) throw new Error('usage: shard-stream-memory.ts <dataset dir> [windowBytes ...]');
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
const peakResident = () => `process peak resident memory: ${mb(process.resourceUsage().maxRSS * 1000)}`;

if (windows[0] === '--whole') {
  const whole = await readShardDataset(dir);
  console.log(`whole reader: ${whole.documents.length} documents in memory; ${peakResident()}`);
  process.exit(0);
}

const scanStart = performance.now();
const data = await openStreamedShardDataset(dir, { heldOutFraction: 0.05 });
const scanSeconds = (performance.now() - scanStart) / 1000;
const shardBytes = data.index.shards.reduce((n, s) => n + statSync(join(dir, s.file)).size + statSync(join(dir, s.boundaries)).size, 0);
const { train, heldOut } = data.scan;
console.log(
  `dataset ${dir}: ${data.index.shards.length} shards, ${mb(shardBytes)} of shard files; ${train.documents} training documents ` +
    `(${train.tokens} tokens), ${heldOut.documents} held out; whole reader: ${mb(4 * (train.tokens + heldOut.tokens))} of documents`,
);
console.log(`scan (sizes, CRC-32, split, unigram counts): ${scanSeconds.toFixed(2)} s, ${mb(shardBytes / scanSeconds)}/s`);
console.log('| window | peak held | bound (window + read buffers) | peak / shard bytes | one epoch | documents/s |');
console.log('|---|---|---|---|---|---|');
for (const window of (windows.length > 0 ? windows : ['1048576', '33554432']).map(Number)) {
  const stream = data.stream('train', 1, window);
  const start = performance.now();
  for (let i = 0; i < train.documents; i++) stream.next();
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `| ${mb(window)} | ${mb(stream.peakHeldBytes())} | ${mb(stream.maxHeldBytes)} | ${((100 * stream.peakHeldBytes()) / shardBytes).toFixed(1)}% | ` +
      `${seconds.toFixed(2)} s | ${Math.round(train.documents / seconds)} |`,
  );
}
// The whole process, for scale: the runtime, the scan's counts, and the streams (maxRSS is in kilobytes).
console.log(peakResident());
