/**
 * What the trainer and objectives need from a tokenizer. Every tokenizer has the special tokens "eos" and "pad";
 * objectives reserve more by name (sentinels, [MASK], mode tokens) when the tokenizer is built.
 */
export interface Tokenizer {
  readonly kind: string;
  readonly vocabSize: number;
  readonly specialTokens: Readonly<Record<string, number>>;
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
  /** JSON that `fromJSON` of the same kind restores exactly (stored in checkpoints). */
  toJSON(): Record<string, unknown>;
}
