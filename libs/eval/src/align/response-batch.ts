import type { Batch } from '@unilab/core';
import { continuationRow, generationLayout, rowsToBatch, stopToken, type InferenceRow, type LoadedModel } from '@unilab/runner';

/**
 * Prompt + response rows laid out as the model reads a prompt when it generates (runner/inference: the causal row of
 * a decoder, Part A / Part B of a prefix LM or GLM, encoder input and decoder target of an encoder-decoder, one row
 * per target token for mask-query layouts), with the targets and the loss mask on the response tokens and the stop
 * token after them, never on the prompt: SFT and DPO score log π(y | x), not log π(x).
 */
export interface ResponseBatch {
  batch: Batch;
  /** Response tokens scored in each example (the stop token included), in the order the examples were given. */
  scored: number[];
  /** For each row of the batch, the example it scores. */
  rowExample: number[];
}

export function responseBatch(loaded: LoadedModel, examples: readonly { prompt: string; response: string }[]): ResponseBatch {
  const { tokenizer, seqLen } = loaded;
  const presented = generationLayout(loaded);
  const stop = stopToken(presented, tokenizer);
  const rows: InferenceRow[] = [];
  const targets: { position: number; token: number }[][] = [];
  const rowExample: number[] = [];
  const scored: number[] = [];
  examples.forEach(({ prompt, response }, e) => {
    const input = [...tokenizer.encode(prompt)];
    const target = [...tokenizer.encode(response), stop];
    scored.push(target.length);
    const first = continuationRow(presented, input, target, seqLen);
    if (first.perTokenTargets) {
      rows.push(first);
      targets.push(target.map((token, k) => ({ position: first.next - target.length + k, token })));
      rowExample.push(e);
      return;
    }
    // One query per row (a mask-query layout): a row per target token, the tokens before it as the target so far.
    target.forEach((token, k) => {
      const row = continuationRow(presented, input, target.slice(0, k), seqLen);
      rows.push(row);
      targets.push([{ position: row.next, token }]);
      rowExample.push(e);
    });
  });
  const batch = rowsToBatch(rows, tokenizer.specialTokens.pad ?? 0);
  targets.forEach((row, r) => {
    for (const { position, token } of row) {
      batch.targets[r * batch.seqLen + position] = token;
      batch.lossMask[r * batch.seqLen + position] = 1;
    }
  });
  return { batch, scored, rowExample };
}
