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
  /**
   * For each example, the flat index (row · seqLen + position) of each scored token in response order: where its
   * target sits and where the logits (and hidden state) that predict it are read.
   */
  scoredAt: number[][];
}

export function responseBatch(loaded: LoadedModel, examples: readonly { prompt: string; response: string }[]): ResponseBatch {
  const { tokenizer } = loaded;
  const stop = stopToken(generationLayout(loaded), tokenizer);
  return tokenResponseBatch(
    loaded,
    examples.map(({ prompt, response }) => ({ input: [...tokenizer.encode(prompt)], target: [...tokenizer.encode(response), stop] })),
  );
}

/**
 * The same rows from token ids: `target` is scored as given (a sampled response carries its stop token only when the
 * sampler emitted one), so PPO scores exactly the tokens it sampled, not a re-encoding of their text.
 */
export function tokenResponseBatch(loaded: LoadedModel, examples: readonly { input: readonly number[]; target: readonly number[] }[]): ResponseBatch {
  const { tokenizer, seqLen } = loaded;
  const presented = generationLayout(loaded);
  const rows: InferenceRow[] = [];
  const targets: { position: number; token: number }[][] = [];
  const rowExample: number[] = [];
  const scored: number[] = [];
  examples.forEach(({ input, target }, e) => {
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
  const scoredAt: number[][] = examples.map(() => []);
  targets.forEach((row, r) => {
    for (const { position, token } of row) {
      const at = r * batch.seqLen + position;
      batch.targets[at] = token;
      batch.lossMask[at] = 1;
      scoredAt[rowExample[r]].push(at);
    }
  });
  return { batch, scored, rowExample, scoredAt };
}
