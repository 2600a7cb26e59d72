import type { ContinuationLayout } from '@unilab/core';
import { TargetTooLongError, continuationRow, type ContinuationRow } from './continuation-row.ts';
import type { Presented } from './presentation.ts';

/**
 * What a generation shows the model: its text (prompt, then the tokens generated) split into an input and the answer
 * so far, laid out as the model's objective trained it (continuation-row.ts), never longer than its context
 * (train.seqLen).
 *
 * The prompt is cropped from the left to fit. When the answer outgrows the context, the window moves: the last tokens
 * of the text, filling half the context, become the new input (ended by eos, or read as plain text, as the layout
 * says) and the answer starts afresh. The window moves the same way whether or not a key/value cache is used, so both
 * paths see the same rows and, at temperature 0, emit the same tokens; with a cache each move costs one prefill of
 * half the context (positions change, so the cached keys cannot be kept), not one full forward per token as a window
 * that slid by one token would.
 */
export class ContextWindow {
  private readonly text: number[];
  private inputStart: number;
  private answerStart: number;

  constructor(
    private readonly presented: Presented<ContinuationLayout>,
    private readonly prompt: readonly number[],
    private readonly seqLen: number,
  ) {
    this.text = [...prompt];
    this.answerStart = prompt.length;
    this.inputStart = continuationRow(presented, prompt, [], seqLen).droppedInput;
  }

  /** The row the model reads now; its `next` token predicts the one after the answer. */
  row(): ContinuationRow {
    return continuationRow(this.presented, this.text.slice(this.inputStart, this.answerStart), this.text.slice(this.answerStart), this.seqLen);
  }

  /** Take a generated token; move the window if the next row would not hold the whole input. */
  push(token: number): void {
    this.text.push(token);
    if (this.fits()) return;
    this.answerStart = this.text.length;
    this.inputStart = continuationRow(this.presented, this.text, [], Math.floor(this.seqLen / 2)).droppedInput;
  }

  /** The tokens generated so far. */
  generated(): number[] {
    return this.text.slice(this.prompt.length);
  }

  private fits(): boolean {
    try {
      return this.row().droppedInput === 0;
    } catch (err) {
      if (err instanceof TargetTooLongError) return false;
      throw err;
    }
  }
}
