import { TargetTooLongError, cachedLogits, continuationRow, fullForwardLogits, generationLayout, stopToken, type LoadedModel } from '@unilab/runner';
import { sampleToken, type Rng } from '@unilab/core';

/**
 * One response sampled from the policy for a prompt: the episode PPO learns from. Tokens are drawn at temperature 1
 * from the full softmax (no top-k or nucleus cut: the importance ratio of PPO assumes the sampling distribution is
 * π itself), the model's special tokens banned except the stop token, as in generation. The episode ends at the stop
 * token (kept in `response`, so its choice is scored and trained too) or after `maxTokens` (then it has none), or
 * earlier where prompt + response would no longer fit the model's context.
 */
export interface Rollout {
  prompt: string;
  /** The prompt's tokens. */
  input: number[];
  /** The sampled tokens, the stop token last when one was sampled. */
  response: number[];
  /** The response as text (stop token excluded). */
  text: string;
}

export async function sampleRollouts(loaded: LoadedModel, prompts: readonly string[], maxTokens: number, rng: Rng): Promise<Rollout[]> {
  const { model, backend, tokenizer, seqLen } = loaded;
  const presented = generationLayout(loaded);
  const stop = stopToken(presented, tokenizer);
  const banned = new Set(Object.values(tokenizer.specialTokens).filter((id) => id !== stop));
  const out: Rollout[] = [];
  for (const prompt of prompts) {
    const input = [...tokenizer.encode(prompt)];
    const response: number[] = [];
    const next = cachedLogits(model, backend, seqLen) ?? fullForwardLogits(model, backend);
    try {
      while (response.length < maxTokens && response[response.length - 1] !== stop) {
        let row;
        try {
          row = continuationRow(presented, input, response, seqLen);
        } catch (err) {
          if (err instanceof TargetTooLongError) break;
          throw err;
        }
        response.push(sampleToken(await next.logits(row), { temperature: 1, topK: 0, topP: 1 }, rng, banned));
      }
    } finally {
      next.dispose();
    }
    const words = response[response.length - 1] === stop ? response.slice(0, -1) : response;
    out.push({ prompt, input, response, text: tokenizer.decode(words) });
  }
  return out;
}
