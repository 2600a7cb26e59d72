/**
 * Benchmark: this library's byte-level BPE against SentencePiece BPE (Kudo & Richardson 2018) at the same vocabulary
 * size on the same text. Both train on the same lines of a corpus and are measured on held-out lines (a tenth of the
 * documents, chosen by hash): compression as UTF-8 bytes per token, training time, and encoding speed.
 *
 *   npx tsx --conditions=development libs/data/bench/tokenizer-vs-sentencepiece.ts [--corpus sotu,brown] [--vocab 4096,8192,16384]
 *
 * SentencePiece is Debian's python3-sentencepiece (`apt-get install python3-sentencepiece`), run by /usr/bin/python3.
 * It is measured twice: "lossless" (identity normalisation, whitespace kept, byte fallback, full character coverage:
 * the same guarantees as byte-level BPE) and with its defaults (NFKC, collapsed whitespace, 99.95% coverage), which
 * change the text before counting.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBrown } from '../src/sources/brown.ts';
import { readSotu } from '../src/sources/sotu.ts';
import { fnv1a } from '../src/split.ts';
import { PieceCounter, trainBpe } from '../src/tokenizer/bpe-trainer.ts';

const PYTHON = `
import json, sys, time
import sentencepiece as spm
train_path, eval_path, prefix, vocab, mode = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
options = dict(input=train_path, model_prefix=prefix, vocab_size=vocab, model_type='bpe', num_threads=2,
               max_sentence_length=1 << 20, input_sentence_size=0, minloglevel=2)
if mode == 'lossless':
    options.update(normalization_rule_name='identity', remove_extra_whitespaces=False, byte_fallback=True, character_coverage=1.0)
t = time.time()
spm.SentencePieceTrainer.train(**options)
train_seconds = time.time() - t
sp = spm.SentencePieceProcessor(model_file=prefix + '.model')
lines = [l for l in open(eval_path, encoding='utf-8').read().split('\\n') if l]
t = time.time()
tokens = sum(len(ids) for ids in sp.encode(lines))
encode_seconds = time.time() - t
print(json.dumps(dict(train_seconds=train_seconds, encode_seconds=encode_seconds, tokens=tokens, vocab=sp.get_piece_size())))
`;

interface Row {
  corpus: string;
  vocab: number;
  tokenizer: string;
  bytesPerToken: number;
  trainSeconds: number;
  encodeMBps: number;
}

function option(name: string, fallback: string): string[] {
  const i = process.argv.indexOf(`--${name}`);
  return (i >= 0 ? process.argv[i + 1] : fallback).split(',');
}

async function corpusLines(name: string): Promise<{ train: string[]; heldOut: string[] }> {
  const docs = name === 'sotu' ? await readSotu() : name === 'brown' ? await readBrown() : null;
  if (!docs) throw new Error(`unknown corpus ${name}: use sotu or brown`);
  const train: string[] = [];
  const heldOut: string[] = [];
  for (const d of docs) {
    const lines = d.text.split('\n').filter((l) => l.trim().length > 0);
    (fnv1a(d.id) % 10 === 0 ? heldOut : train).push(...lines);
  }
  return { train, heldOut };
}

const utf8 = (s: string) => new TextEncoder().encode(s).length;

async function main(): Promise<void> {
  const corpora = option('corpus', 'sotu,brown');
  const vocabs = option('vocab', '4096,8192,16384').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'unilab-spm-'));
  const script = join(dir, 'spm_bench.py');
  writeFileSync(script, PYTHON);
  const rows: Row[] = [];
  for (const corpus of corpora) {
    const { train, heldOut } = await corpusLines(corpus);
    const trainPath = join(dir, `${corpus}.train.txt`);
    const evalPath = join(dir, `${corpus}.eval.txt`);
    writeFileSync(trainPath, train.join('\n') + '\n');
    writeFileSync(evalPath, heldOut.join('\n') + '\n');
    const evalBytes = heldOut.reduce((n, l) => n + utf8(l), 0);
    console.error(`${corpus}: ${(train.reduce((n, l) => n + utf8(l), 0) / 1e6).toFixed(2)} MB train, ${(evalBytes / 1e6).toFixed(2)} MB held out`);
    for (const vocab of vocabs) {
      const t0 = performance.now();
      const counter = new PieceCounter();
      for (const l of train) counter.add(l);
      const bpe = trainBpe(counter, { vocabSize: vocab });
      const trainSeconds = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      let tokens = 0;
      for (const l of heldOut) tokens += bpe.encode(l).length;
      const encodeSeconds = (performance.now() - t1) / 1000;
      rows.push({ corpus, vocab, tokenizer: 'unilab byte-level BPE', bytesPerToken: evalBytes / tokens, trainSeconds, encodeMBps: evalBytes / 1e6 / encodeSeconds });
      for (const mode of ['lossless', 'default']) {
        const out = execFileSync('/usr/bin/python3', [script, trainPath, evalPath, join(dir, `${corpus}-${vocab}-${mode}`), String(vocab), mode], { encoding: 'utf8' });
        const r = JSON.parse(out.trim().split('\n').pop()!) as { train_seconds: number; encode_seconds: number; tokens: number };
        rows.push({
          corpus,
          vocab,
          tokenizer: `SentencePiece BPE (${mode})`,
          bytesPerToken: evalBytes / r.tokens,
          trainSeconds: r.train_seconds,
          encodeMBps: evalBytes / 1e6 / r.encode_seconds,
        });
      }
      console.error(`  vocab ${vocab} done`);
    }
  }
  console.log('| corpus | vocab | tokenizer | bytes/token (held out) | vs SP lossless | train s | encode MB/s |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const sp = rows.find((x) => x.corpus === r.corpus && x.vocab === r.vocab && x.tokenizer === 'SentencePiece BPE (lossless)')!;
    const delta = ((r.bytesPerToken / sp.bytesPerToken - 1) * 100).toFixed(2);
    console.log(
      `| ${r.corpus} | ${r.vocab} | ${r.tokenizer} | ${r.bytesPerToken.toFixed(3)} | ${Number(delta) >= 0 ? '+' : ''}${delta}% | ${r.trainSeconds.toFixed(2)} | ${r.encodeMBps.toFixed(2)} |`,
    );
  }
}

await main();
