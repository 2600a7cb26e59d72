import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Batch, Batcher } from '@unilab/core';
import { PieceCounter, readSotu, trainBpe } from '@unilab/data';
import { windowStart } from './config.ts';

/**
 * Real text for bench-small: the State of the Union corpus, byte-level BPE with the bench's 8192-token vocabulary
 * (libs/data's trainer), documents joined by the end-of-sequence token, as one little-endian int32 stream.
 * Built once and cached in the temp directory (training the tokenizer takes a while).
 */
export async function benchTokens(vocabSize: number): Promise<{ path: string; tokens: Int32Array }> {
  const dir = join(tmpdir(), 'unilab-bench');
  const path = join(dir, `sotu-bpe${vocabSize}.i32`);
  try {
    const bytes = await readFile(path);
    return { path, tokens: new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) };
  } catch {
    // Not cached yet.
  }
  const docs = await readSotu();
  const counter = new PieceCounter();
  for (const d of docs) counter.add(d.text);
  const tokenizer = trainBpe(counter, { vocabSize });
  const eos = tokenizer.specialTokens.eos;
  const parts = docs.map((d) => tokenizer.encode(d.text));
  const tokens = new Int32Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let at = 0;
  for (const p of parts) {
    tokens.set(p, at);
    tokens[at + p.length] = eos;
    at += p.length + 1;
  }
  await mkdir(dir, { recursive: true });
  await writeFile(`${path}.tmp`, new Uint8Array(tokens.buffer));
  await rename(`${path}.tmp`, path);
  return { path, tokens };
}

/** Causal LM on the stream: row b of step s is the window at windowStart(s, b), its targets shifted by one. */
export function streamBatcher(stream: Int32Array, c: { batchSize: number; seqLen: number }): Batcher {
  let step = 0;
  const n = c.batchSize * c.seqLen;
  return {
    next(): Batch {
      const tokens = new Int32Array(n);
      const targets = new Int32Array(n);
      for (let b = 0; b < c.batchSize; b++) {
        const start = windowStart(step, b, c.batchSize, c.seqLen, stream.length);
        tokens.set(stream.subarray(start, start + c.seqLen), b * c.seqLen);
        targets.set(stream.subarray(start + 1, start + c.seqLen + 1), b * c.seqLen);
      }
      step++;
      return {
        batchSize: c.batchSize,
        seqLen: c.seqLen,
        tokens,
        targets,
        lossMask: new Float32Array(n).fill(1),
        segmentIds: new Int32Array(n),
        prefixEnd: new Int32Array(n),
        positions: Int32Array.from({ length: n }, (_, i) => i % c.seqLen),
      };
    },
    state: () => step,
    restore(s) {
      step = s as number;
    },
  };
}
