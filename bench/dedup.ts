/**
 * bench-dedup: the near-duplicate stage (minhash-dedup, FineWeb's 14 bands x 8 rows over word 5-grams) with its
 * signatures computed by the TypeScript reference and by the wasm kernel (kernels-rs/src/minhash.rs), side by side in
 * one run on the same documents: every bundled corpus (sotu, brown, udhr in every complete translation), in order.
 *
 *   npm run -s bench:dedup [-- --rounds N]
 *
 * The sides alternate (typescript, wasm, typescript, wasm, ...) so that a burst of load from other processes does not
 * land on one side only; each figure is the best round (on a shared machine the least disturbed one). MB/s is UTF-8
 * bytes of input over the time inside the stage's `process` (what the pipeline reports per stage); "signatures" is
 * the signer alone on the same documents (the stage adds band keys, bucket look-ups and the union-find). Both sides
 * must drop the same documents, or the bench fails.
 */
import { BUNDLED_SOURCES, createMinhashSigner, minhashDedupStage, minhashSeeds, readBundled, type MinhashHashing } from '@unilab/data';
import { benchEnvironment } from './reference-check.ts';

const argv = process.argv.slice(2);
const at = argv.indexOf('--rounds');
const rounds = at >= 0 ? Number(argv[at + 1]) : 3;
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${argv[at + 1]}`);

const machine = benchEnvironment();
const docs: { id: string; source: string; text: string }[] = [];
for (const corpus of BUNDLED_SOURCES) for await (const item of readBundled(corpus, corpus)) if ('document' in item) docs.push(item.document);
const bytes = docs.reduce((n, d) => n + new TextEncoder().encode(d.text).length, 0);

interface Round {
  stageSeconds: number;
  signatureSeconds: number;
  createSeconds: number;
  dropped: string[];
}

async function round(hashing: MinhashHashing): Promise<Round> {
  const config = minhashDedupStage.configSchema.parse({ hashing }, 'config');
  const t0 = performance.now();
  const stage = await minhashDedupStage.create(config);
  const createSeconds = (performance.now() - t0) / 1000;
  const dropped: string[] = [];
  let stageSeconds = 0;
  for (const doc of docs) {
    const t = performance.now();
    const decision = await stage.process(doc);
    stageSeconds += (performance.now() - t) / 1000;
    if (!decision.keep) dropped.push(doc.id);
  }
  const signer = await createMinhashSigner(hashing, config.shingleSize, minhashSeeds(config.bands * config.rows, config.seed));
  const out = new Uint32Array(signer.hashes);
  const t1 = performance.now();
  for (const doc of docs) signer.signature(doc.text, out);
  return { stageSeconds, signatureSeconds: (performance.now() - t1) / 1000, createSeconds, dropped };
}

const sides: MinhashHashing[] = ['typescript', 'wasm'];
const results = new Map<MinhashHashing, Round[]>(sides.map((s) => [s, []]));
for (let r = 0; r < rounds; r++) for (const side of sides) results.get(side)!.push(await round(side));

const [reference, kernel] = sides.map((s) => results.get(s)![0].dropped.join('\n'));
if (reference !== kernel) throw new Error('bench-dedup: the typescript and wasm signatures dropped different documents');

const mbs = (seconds: number) => bytes / 1e6 / seconds;
const best = (rs: Round[], key: 'stageSeconds' | 'signatureSeconds') => Math.min(...rs.map((r) => r[key]));
const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
console.log(
  `bench-dedup (${date} UTC): minhash-dedup 14 x 8, word 5-grams, on ${docs.length} documents of ${BUNDLED_SOURCES.join(', ')} ` +
    `(${(bytes / 1e6).toFixed(1)} MB UTF-8); best of ${rounds} alternating round(s); both drop the same ${results.get('wasm')![0].dropped.length} documents\n`,
);
console.log('| signatures by | stage MB/s | per round | signatures alone MB/s | stage set-up |');
console.log('|---|---:|---|---:|---:|');
for (const side of sides) {
  const rs = results.get(side)!;
  const perRound = rs.map((r) => mbs(r.stageSeconds).toFixed(1)).join(', ');
  const setup = Math.max(...rs.map((r) => r.createSeconds));
  console.log(`| ${side} | ${mbs(best(rs, 'stageSeconds')).toFixed(1)} | ${perRound} | ${mbs(best(rs, 'signatureSeconds')).toFixed(1)} | ${(setup * 1000).toFixed(0)} ms |`);
}
const [ts, wasm] = sides.map((s) => best(results.get(s)!, 'stageSeconds'));
console.log(`\nwasm / typescript: ${(ts / wasm).toFixed(2)}x the stage's throughput`);
machine.printLoadAfter();
