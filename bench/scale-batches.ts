import type { Batch, Batcher } from '@unilab/core';
import { windowStart } from './config.ts';
import type { ScaleArchitecture } from './scale-grid.ts';

/**
 * bench-scale's batches, the same windows of the same token stream as bench-small (config.ts windowStart) laid out
 * for each architecture; bench/pytorch_scale_point.py reads them the same way.
 *
 * A row is the window w[0..T] (T + 1 tokens) at windowStart(step, row):
 *   decoder          inputs w[0..T), targets w[1..T], causal, every target counts;
 *   prefix-lm        the same inputs and targets, bidirectional over the first P = prefixLen inputs, targets after
 *                    the prefix count (position t >= P);
 *   encoder-decoder  the encoder reads w[0..P) bidirectionally, the decoder reads w[P..T) causally and predicts
 *                    w[P+1..T]: T positions a row in all, as the one-stack models.
 */
export interface ScaleBatchShape {
  architecture: ScaleArchitecture;
  seqLen: number;
  batchSize: number;
  prefixLen: number;
}

export function scaleBatch(stream: Int32Array, s: ScaleBatchShape, step: number): Batch {
  const { batchSize: b, seqLen: t, prefixLen: p } = s;
  if (s.architecture !== 'decoder' && !(p > 0 && p < t)) throw new RangeError(`${s.architecture}: prefixLen must be in 1..${t - 1}, got ${p}`);
  const encoderLen = s.architecture === 'encoder-decoder' ? p : 0;
  const len = t - encoderLen;
  const n = b * len;
  const tokens = new Int32Array(n);
  const targets = new Int32Array(n);
  const lossMask = new Float32Array(n);
  const prefixEnd = new Int32Array(n);
  const positions = new Int32Array(n);
  const encTokens = new Int32Array(b * encoderLen);
  for (let r = 0; r < b; r++) {
    const w = windowStart(step, r, b, t, stream.length);
    encTokens.set(stream.subarray(w, w + encoderLen), r * encoderLen);
    tokens.set(stream.subarray(w + encoderLen, w + t), r * len);
    targets.set(stream.subarray(w + encoderLen + 1, w + t + 1), r * len);
    for (let i = 0; i < len; i++) {
      positions[r * len + i] = i;
      lossMask[r * len + i] = s.architecture === 'prefix-lm' && i < p ? 0 : 1;
      prefixEnd[r * len + i] = s.architecture === 'prefix-lm' ? p : 0;
    }
  }
  const batch: Batch = { batchSize: b, seqLen: len, tokens, targets, lossMask, segmentIds: new Int32Array(n), prefixEnd, positions };
  if (encoderLen > 0)
    batch.encoder = {
      tokens: encTokens,
      encoderLen,
      segmentIds: new Int32Array(b * encoderLen),
      prefixEnd: new Int32Array(b * encoderLen).fill(encoderLen),
      positions: Int32Array.from({ length: b * encoderLen }, (_, i) => i % encoderLen),
    };
  return batch;
}

export function scaleBatcher(stream: Int32Array, s: ScaleBatchShape): Batcher {
  let step = 0;
  return {
    next: () => scaleBatch(stream, s, step++),
    state: () => step,
    restore(v) {
      step = v as number;
    },
  };
}
