import type { Tape, Var } from '../autodiff/tape.ts';

/**
 * Incremental decoding with a key/value cache. Autoregressive generation reads the logits of one new token at a time;
 * re-running the model over the whole sequence for each of them costs O(T) times what it must. A self-attention
 * layer's keys and values of a token never change once the token is in place (a token sees only itself and what came
 * before it, or a fixed prefix), so each layer keeps them and a new token computes only its own row: its query against
 * the cached keys (Vaswani et al. 2017 §3.2 make every step a function of the keys and values so far; GPT-2 calls the
 * cache `past`; Pope et al. 2022 §2 "Efficiently Scaling Transformer Inference" analyse its cost). An encoder-decoder
 * runs its encoder once and keeps every decoder layer's cross-attention keys and values as well.
 *
 * A session holds one sequence. Its tokens are numbered from 0 in the order they were appended; the batch's mask rule
 * (batch.ts) holds with those numbers: token i sees token j iff j <= i or j < prefixEnd[i]. Since cached tokens
 * cannot see tokens appended after them, a step's prefixEnd may reach at most the end of that step: a bidirectional
 * prompt is appended in one step (prefill), the tokens generated after it one by one.
 */
export interface DecodingStart {
  /** Most tokens the session will ever hold (the model's context length, train.seqLen). */
  capacity: number;
  /** The encoder's input, for architectures with an encoder: read once, bidirectionally, when the session starts. */
  encoder?: { tokens: Int32Array; positions: Int32Array };
}

/** Tokens appended to the sequence, in order: they take the next places after the cached ones. Arrays of length n. */
export interface DecodingStep {
  tokens: Int32Array;
  /** Position ids, what a full forward's batch would carry for these tokens (the first of GLM's 2D positions). */
  positions: Int32Array;
  /** GLM's block positions, for architectures that read them (absent: 0, Part A). */
  blockPositions?: Int32Array;
  /** Per token: tokens at indices below it are visible besides the causal ones (0 for a causal token). */
  prefixEnd: Int32Array;
}

export interface DecodingSession {
  /** Tokens held (appended and not truncated). */
  readonly length: number;
  readonly capacity: number;
  /**
   * Logits [1, n, V] of the step's tokens, computed against the cache, which then holds their keys and values too.
   * Inference only: the tape must not record (the cache is outside any tape and carries no gradient).
   */
  append(tape: Tape, step: DecodingStep): Var;
  /** Keep only the first `length` tokens, e.g. to score or decode another continuation of the same context. */
  truncate(length: number): void;
  /** Release the cache's memory; the session cannot be used afterwards. */
  dispose(): void;
}

/** The checks every session makes on a step before running it (shared so every architecture says the same). */
export function checkDecodingStep(session: Pick<DecodingSession, 'length' | 'capacity'>, step: DecodingStep, tape: Tape): void {
  if (tape.recording) throw new Error('decoding step: pass a tape that does not record (new Tape(backend, false)); the key/value cache carries no gradient');
  const n = step.tokens.length;
  if (n === 0) throw new RangeError('decoding step: no tokens to append');
  for (const [name, values] of [
    ['positions', step.positions],
    ['prefixEnd', step.prefixEnd],
    ['blockPositions', step.blockPositions],
  ] as const)
    if (values && values.length !== n) throw new RangeError(`decoding step: ${name} has ${values.length} values for ${n} tokens`);
  const end = session.length + n;
  if (end > session.capacity)
    throw new RangeError(`decoding step: ${n} more tokens after ${session.length} exceed the session's capacity of ${session.capacity}; start a new session over a cropped window`);
  for (let i = 0; i < n; i++)
    if (step.prefixEnd[i] > end)
      throw new RangeError(
        `decoding step: prefixEnd[${i}] = ${step.prefixEnd[i]} reaches past the ${end} tokens held after this step; cached tokens cannot see later ones, so append a bidirectional prefix in one step`,
      );
}
