/**
 * A one-line progress bar on stderr: step, loss, tokens/s, ETA. Redrawn in place on a terminal; on a pipe (CI,
 * logs) it prints a plain line every `logEvery` steps instead.
 */
export class ProgressBar {
  private readonly started = performance.now();
  private tokens = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(
    private readonly total: number,
    private readonly startStep: number,
    private readonly logEvery = 25,
  ) {}

  update(step: number, loss: number, stepTokens: number, extra = ''): void {
    this.tokens += stepTokens;
    const seconds = (performance.now() - this.started) / 1000;
    const done = step - this.startStep;
    const rate = this.tokens / Math.max(seconds, 1e-9);
    const eta = done > 0 ? ((this.total - step) * seconds) / done : 0;
    const width = 24;
    const filled = Math.round((width * step) / this.total);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const line = `${bar} step ${step}/${this.total}  loss ${loss.toFixed(4)}  ${Math.round(rate)} tok/s  ETA ${formatDuration(eta)}${extra ? '  ' + extra : ''}`;
    if (this.tty) process.stderr.write(`\r\x1b[2K${line}`);
    else if (step % this.logEvery === 0 || step === this.total) process.stderr.write(line + '\n');
  }

  /** Print a line above the bar (held-out loss, checkpoints). */
  log(message: string): void {
    process.stderr.write(this.tty ? `\r\x1b[2K${message}\n` : message + '\n');
  }

  finish(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
