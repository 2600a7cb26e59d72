/**
 * bench-small (../../shared/BENCH.md): the LLaMA-style decoder both sides train, and the step they time.
 * The PyTorch reference receives this object as JSON, so the two sides cannot drift apart.
 */
export const benchSmall = {
  vocabSize: 8192,
  layers: 4,
  dModel: 256,
  heads: 4,
  ffnHidden: 688,
  normEps: 1e-5,
  ropeBase: 10000,
  seqLen: 256,
  batchSize: 8,
  lr: 3e-4,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0.1,
  clipNorm: 1.0,
  threads: 2,
  warmupSteps: 3,
  timedSteps: 10,
  seed: 1234,
};

export type BenchSmallConfig = typeof benchSmall;

/** What each side prints as its last stdout line (JSON). */
export interface SideResult {
  name: string;
  /** Seconds per timed step, in order. */
  stepSeconds: number[];
  medianSeconds: number;
  tokensPerSecond: number;
  peakRssBytes: number;
  /** Training loss of every step (warm-up included). */
  losses: number[];
  parameters: number;
  /** Seconds per op name over one profiled step (unilab), or per profiler row (PyTorch). */
  profile?: Record<string, number>;
  detail?: string;
}

/** The token windows of step s, row b: both sides read the same stream the same way. */
export function windowStart(step: number, row: number, batchSize: number, seqLen: number, streamLength: number): number {
  return (((step * batchSize + row) * (seqLen + 1)) % (streamLength - seqLen - 1));
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
