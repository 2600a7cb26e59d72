/** One point of a job's curves: a training step (loss, lr, gradNorm, tokens) or a held-out evaluation. */
export interface CurvePoint {
  globalStep: number;
  loss?: number | null;
  heldOutLoss?: number | null;
  lr?: number | null;
  gradNorm?: number | null;
  /** Tokens in one step. */
  tokens?: number | null;
  /** When the step finished (ISO time). */
  at?: string | null;
}

const MIN_RATE_SECONDS = 0.25;
const COLUMNS = ['loss', 'heldOutLoss', 'lr', 'gradNorm', 'tokensPerSecond'] as const;
export type CurveColumn = (typeof COLUMNS)[number];

/**
 * A job's curves as columns on one step axis, as uPlot draws them: filled from the (downsampled) metrics, then grown
 * by live events. A step at or before the last one means the job was resumed from an earlier checkpoint: the steps
 * after it are the ones it runs again, so the old ones are dropped and the curve shows the run that counts.
 */
export class JobCurves {
  readonly x: number[] = [];
  readonly columns: Record<CurveColumn, (number | null)[]> = { loss: [], heldOutLoss: [], lr: [], gradNorm: [], tokensPerSecond: [] };
  private lastStepAt: { step: number; time: number } | null = null;
  private lastRate: number | null = null;

  add(point: CurvePoint): void {
    const isStep = typeof point.heldOutLoss !== 'number';
    let i = this.x.length - 1;
    if (isStep) {
      while (i >= 0 && this.x[i] >= point.globalStep) i--;
      this.truncate(i + 1);
      if (this.lastStepAt && this.lastStepAt.step >= point.globalStep) this.lastStepAt = null;
      this.push(point.globalStep);
      const last = this.x.length - 1;
      this.columns.loss[last] = point.loss ?? null;
      this.columns.lr[last] = point.lr ?? null;
      this.columns.gradNorm[last] = point.gradNorm ?? null;
      this.columns.tokensPerSecond[last] = this.throughput(point);
    } else {
      // An evaluation follows the step it measured: it shares that step's point (or makes one of its own).
      while (i >= 0 && this.x[i] > point.globalStep) i--;
      if (i < 0 || this.x[i] !== point.globalStep) {
        if (i !== this.x.length - 1) return; // an evaluation of a step since superseded by a resume
        this.push(point.globalStep);
        i = this.x.length - 1;
      }
      this.columns.heldOutLoss[i] = point.heldOutLoss ?? null;
    }
  }

  get length(): number {
    return this.x.length;
  }

  /** The newest value of a column (null when it has none yet). */
  latest(column: CurveColumn): number | null {
    const values = this.columns[column];
    for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
    return null;
  }

  /**
   * Tokens per second over at least a quarter second: the steps since the last measurement times the tokens of one step,
   * over the time between. Event times have millisecond resolution and tiny steps take a few milliseconds, so a
   * rate per step would be mostly noise; steps inside a window carry the last window's rate.
   */
  private throughput(point: CurvePoint): number | null {
    const time = point.at ? Date.parse(point.at) : NaN;
    if (!Number.isFinite(time)) return null;
    const previous = this.lastStepAt;
    if (!previous) {
      this.lastStepAt = { step: point.globalStep, time };
      this.lastRate = null;
      return null;
    }
    const seconds = (time - previous.time) / 1000;
    const steps = point.globalStep - previous.step;
    if (seconds < MIN_RATE_SECONDS || steps <= 0 || typeof point.tokens !== 'number') return this.lastRate;
    this.lastStepAt = { step: point.globalStep, time };
    this.lastRate = (point.tokens * steps) / seconds;
    return this.lastRate;
  }

  private push(step: number): void {
    this.x.push(step);
    for (const c of COLUMNS) this.columns[c].push(null);
  }

  private truncate(length: number): void {
    this.x.length = length;
    for (const c of COLUMNS) this.columns[c].length = length;
  }
}
