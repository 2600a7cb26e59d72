import { promptRow, rowLength, type PromptFormat, type PromptRow } from './prompt-format.ts';

/**
 * What a generation shows the model: its text (prompt, then the tokens generated) split into an input and the answer
 * so far, laid out by the prompt format, never longer than the model's context (train.seqLen).
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
    private readonly format: PromptFormat,
    private readonly prompt: readonly number[],
    private readonly seqLen: number,
  ) {
    this.text = [...prompt];
    this.answerStart = prompt.length;
    const room = this.inputRoom(seqLen);
    if (room < 0) throw new Error(`a context of ${seqLen} tokens is too short for this model's prompt layout (${format.layout.kind})`);
    this.inputStart = Math.max(0, prompt.length - room);
  }

  /** The row the model reads now; its last token predicts the next one. */
  row(): PromptRow {
    return promptRow(this.format, this.text.slice(this.inputStart, this.answerStart), this.text.slice(this.answerStart));
  }

  /** Take a generated token; move the window if the next row would not fit the context. */
  push(token: number): void {
    this.text.push(token);
    if (rowLength(this.row()) <= this.seqLen) return;
    this.answerStart = this.text.length;
    this.inputStart = Math.max(0, this.text.length - Math.max(0, this.inputRoom(Math.floor(this.seqLen / 2))));
  }

  /** The tokens generated so far. */
  generated(): number[] {
    return this.text.slice(this.prompt.length);
  }

  /** How many input tokens fit a row of at most `limit` tokens with an empty answer (-1: not even none). */
  private inputRoom(limit: number): number {
    const fits = (n: number) => rowLength(promptRow(this.format, new Array<number>(n).fill(0), [])) <= limit;
    if (!fits(0)) return -1;
    let [lo, hi] = [0, limit];
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(mid)) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
