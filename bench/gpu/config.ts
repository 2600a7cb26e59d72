/**
 * bench-gpu (../../../shared/BENCH.md): the LLaMA-style decoder of bench-small scaled to GPT-2-small size
 * (vocab 32000, 12 layers, d_model 768, 12 heads of 64, SwiGLU 2048, RoPE, untied head), seq 1024, batch 8, and the
 * AdamW step of bench-small. The PyTorch reference receives the same object as JSON, so the sides cannot drift.
 * `tiny` is the same step at a size lavapipe runs in seconds, to test the script without a GPU.
 */
export interface BenchGpuConfig {
  name: string;
  vocabSize: number;
  layers: number;
  dModel: number;
  heads: number;
  ffnHidden: number;
  normEps: number;
  ropeBase: number;
  seqLen: number;
  batchSize: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  clipNorm: number;
  warmupSteps: number;
  timedSteps: number;
  seed: number;
}

export const benchGpu: BenchGpuConfig = {
  name: 'bench-gpu',
  vocabSize: 32000,
  layers: 12,
  dModel: 768,
  heads: 12,
  ffnHidden: 2048,
  normEps: 1e-5,
  ropeBase: 10000,
  seqLen: 1024,
  batchSize: 8,
  lr: 3e-4,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0.1,
  clipNorm: 1.0,
  warmupSteps: 3,
  timedSteps: 10,
  seed: 1234,
};

export const tiny: BenchGpuConfig = {
  ...benchGpu,
  name: 'tiny',
  vocabSize: 512,
  layers: 2,
  dModel: 64,
  heads: 4,
  ffnHidden: 176,
  seqLen: 64,
  batchSize: 2,
  warmupSteps: 1,
  timedSteps: 3,
};

export const configs: Record<string, BenchGpuConfig> = { 'bench-gpu': benchGpu, tiny };

/** One side's result, written as JSON by each side and read by the summary. */
export interface SideResult {
  side: string;
  device: string;
  stepSeconds: number[];
  medianSeconds: number;
  tokensPerSecond: number;
  /** Training loss per step (warm-up included). */
  losses: number[];
  parameters: number;
  peakMemoryBytes: number;
  detail?: string;
}

export interface KernelRow {
  kernel: string;
  shape: string;
  milliseconds: number;
  /** GFLOP/s for compute-bound kernels, GB/s for memory-bound ones. */
  rate: number;
  unit: 'GFLOP/s' | 'GB/s';
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
