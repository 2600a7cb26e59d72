import { Rng, type RngState } from '@unilab/core';

/**
 * The order a training run visits its `count` items: a fresh seeded shuffle at the start of every epoch, one RNG
 * stream for all of them. `state()` is the RNG as it was before the current epoch's shuffle, so a run restored from
 * it draws the same order for the rest of the epoch and every epoch after (a resumed run is the uninterrupted one).
 */
export class EpochOrder {
  private rng: Rng;
  private atEpochStart: RngState;
  private epoch = -1;
  private order: number[] = [];

  constructor(
    readonly count: number,
    seed: number | RngState,
  ) {
    this.rng = new Rng(seed);
    this.atEpochStart = this.rng.state();
  }

  /** The items of step `s` (0-based) at `perStep` items a step; an epoch's last step may take fewer. */
  itemsOf(s: number, perStep: number): number[] {
    const stepsPerEpoch = Math.ceil(this.count / perStep);
    const epoch = Math.floor(s / stepsPerEpoch);
    while (this.epoch < epoch) {
      this.atEpochStart = this.rng.state();
      this.order = this.rng.shuffle(Array.from({ length: this.count }, (_, i) => i));
      this.epoch++;
    }
    if (epoch !== this.epoch) throw new Error(`EpochOrder: step ${s} is in epoch ${epoch}, before the current epoch ${this.epoch}; restore a saved state to go back`);
    const k = s - epoch * stepsPerEpoch;
    return this.order.slice(k * perStep, (k + 1) * perStep);
  }

  /** Where the order stands: the current epoch and the RNG before its shuffle. */
  state(): { epoch: number; rng: RngState } {
    return { epoch: this.epoch, rng: this.atEpochStart };
  }

  /** Go back (or on) to a saved state: the next itemsOf of that epoch redraws the same shuffle. */
  restore(state: { epoch: number; rng: RngState }): void {
    this.rng = new Rng(state.rng);
    // Epoch -1: nothing drawn yet.
    this.epoch = Math.max(-1, state.epoch - 1);
    this.atEpochStart = state.rng;
  }
}
