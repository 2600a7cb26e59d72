/**
 * Learning-rate schedules as pure functions of the step (0-based), so a resumed run computes the same rate.
 *  - cosine: linear warmup, then cosine decay to minLr at totalSteps (GPT-3, LLaMA).
 *  - wsd: warmup-stable-decay (MiniCPM, Hu et al. 2024): linear warmup, constant, then a linear decay to minLr
 *    over the last `decayFraction` of training.
 *  - constant: linear warmup, then constant.
 */
export type ScheduleKind = 'cosine' | 'wsd' | 'constant';

export interface ScheduleConfig {
  kind: ScheduleKind;
  maxLr: number;
  minLr: number;
  warmupSteps: number;
  totalSteps: number;
  /** wsd only: fraction of totalSteps spent decaying. */
  decayFraction: number;
}

export function learningRate(step: number, c: ScheduleConfig): number {
  if (c.warmupSteps > 0 && step < c.warmupSteps) return (c.maxLr * (step + 1)) / c.warmupSteps;
  if (c.kind === 'constant') return c.maxLr;
  if (c.kind === 'cosine') {
    const span = Math.max(1, c.totalSteps - c.warmupSteps);
    const progress = Math.min(1, (step - c.warmupSteps) / span);
    return c.minLr + 0.5 * (c.maxLr - c.minLr) * (1 + Math.cos(Math.PI * progress));
  }
  const decaySteps = Math.max(1, Math.round(c.totalSteps * c.decayFraction));
  const decayStart = c.totalSteps - decaySteps;
  if (step < decayStart) return c.maxLr;
  const progress = Math.min(1, (step - decayStart) / decaySteps);
  return c.maxLr + (c.minLr - c.maxLr) * progress;
}
