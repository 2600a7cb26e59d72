import { Tape, uploadBatch } from '@unilab/core';
import { rowsToBatch, type InferenceRow, type LoadedModel } from '@unilab/runner';

/** A token whose log-probability is wanted: predicted by the logits at `position` of its row. */
export interface TokenQuery {
  position: number;
  token: number;
}

/** Log-probability (nats) of a queried token, and whether it is the model's most likely token there. */
export interface TokenLogProb {
  logProb: number;
  greedy: boolean;
}

export interface RowScoringOptions {
  /** Rows per forward pass (default 16). */
  batchRows?: number;
}

/**
 * Log-probabilities of the queried tokens of each row, from forward passes over batches of rows on a tape that
 * records nothing (no gradients) and is released after each batch. The log-softmax is taken in float64 from the
 * logits read back, so the figure does not depend on the backend's reduction order beyond the logits themselves.
 */
export async function rowLogProbs(
  loaded: LoadedModel,
  rows: readonly InferenceRow[],
  queries: readonly (readonly TokenQuery[])[],
  options: RowScoringOptions = {},
): Promise<TokenLogProb[][]> {
  if (queries.length !== rows.length) throw new Error(`rowLogProbs: ${rows.length} rows but ${queries.length} query lists`);
  const batchRows = options.batchRows ?? 16;
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new Error(`rowLogProbs: batchRows must be an integer >= 1, got ${batchRows}`);
  const { model, tokenizer, backend } = loaded;
  const v = tokenizer.vocabSize;
  const out: TokenLogProb[][] = [];
  for (let start = 0; start < rows.length; start += batchRows) {
    const chunk = rows.slice(start, start + batchRows);
    const batch = rowsToBatch(chunk, tokenizer.specialTokens.pad);
    const tape = new Tape(backend, false);
    let logits: ArrayLike<number>;
    try {
      logits = await backend.read(model.forward(tape, uploadBatch(tape, batch)).value);
    } finally {
      tape.release();
    }
    chunk.forEach((row, r) => {
      out.push(
        queries[start + r].map(({ position, token }) => {
          if (!(position >= 0 && position < row.tokens.length)) throw new Error(`rowLogProbs: position ${position} is outside a row of ${row.tokens.length} tokens`);
          if (!(token >= 0 && token < v)) throw new Error(`rowLogProbs: token ${token} is outside the vocabulary of ${v}`);
          return logSoftmaxAt(logits, (r * batch.seqLen + position) * v, v, token);
        }),
      );
    });
  }
  return out;
}

function logSoftmaxAt(logits: ArrayLike<number>, offset: number, v: number, token: number): TokenLogProb {
  let max = -Infinity;
  let argmax = 0;
  for (let i = 0; i < v; i++) {
    const x = logits[offset + i];
    if (x > max) {
      max = x;
      argmax = i;
    }
  }
  let sum = 0;
  for (let i = 0; i < v; i++) sum += Math.exp(logits[offset + i] - max);
  return { logProb: logits[offset + token] - max - Math.log(sum), greedy: argmax === token };
}
