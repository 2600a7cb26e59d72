/**
 * What few-shot evaluation needs from a model: the summed log-probability of a continuation given a context, scored
 * the way the model was trained (the scorer owns tokenization, the prompt format of its architecture and objective,
 * and cutting the context from the left when context and continuation do not fit the model's window, as
 * lm-evaluation-harness does). Few-shot code sees only text, so it runs the same on every paradigm.
 */
export interface ScoreRequest {
  context: string;
  continuation: string;
}

export interface ContinuationScore {
  /** Sum over the continuation's tokens of ln p(token | everything before it), in nats. */
  logprob: number;
  /** Tokens in the continuation. */
  tokens: number;
  /** UTF-8 bytes in the continuation. */
  bytes: number;
  /** Whether the context was cut from the left to fit the model's window. */
  truncated: boolean;
}

export type ScoreFn = (requests: readonly ScoreRequest[]) => Promise<ContinuationScore[]>;
