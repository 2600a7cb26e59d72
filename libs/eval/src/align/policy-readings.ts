import { Rng, Tape, uploadBatch } from '@unilab/core';
import type { LoadedModel } from '@unilab/runner';
import { tokenResponseBatch, type ResponseBatch } from './response-batch.ts';
import { sampleRollouts } from './rollout.ts';
import { tokenReading } from './token-distribution.ts';

/** log π(a_t | s_t) and the entropy of π(· | s_t) for every scored token of every example of a laid-out batch. */
export interface PolicyReadings {
  logProb: number[][];
  entropy: number[][];
}

export async function readPolicy(loaded: LoadedModel, layout: ResponseBatch): Promise<PolicyReadings> {
  const { model, backend } = loaded;
  const tape = new Tape(backend, false);
  try {
    const logitsVar = model.forward(tape, uploadBatch(tape, layout.batch));
    const logits = await backend.read(logitsVar.value);
    const vocab = logitsVar.shape[logitsVar.shape.length - 1];
    const readings = layout.scoredAt.map((positions) => positions.map((at) => tokenReading(logits, vocab, at, layout.batch.targets[at])));
    return { logProb: readings.map((r) => r.map((x) => x.logProb)), entropy: readings.map((r) => r.map((x) => x.entropy)) };
  } finally {
    tape.release();
  }
}

/**
 * KL(π ‖ π_ref) per response, estimated on responses sampled from π: the mean over responses of Σ_t log π(a_t|s_t) −
 * log π_ref(a_t|s_t) (nats per response). Unbiased for the sequence-level KL, as InstructGPT's penalty measures it.
 */
export async function sampledKl(policy: LoadedModel, reference: LoadedModel, prompts: readonly string[], maxTokens: number, seed: number): Promise<{ kl: number; n: number }> {
  if (prompts.length === 0) throw new Error('sampled KL: no prompts');
  const rollouts = await sampleRollouts(policy, prompts, maxTokens, new Rng(seed));
  const layout = tokenResponseBatch(policy, rollouts.map((r) => ({ input: r.input, target: r.response })));
  const [p, q] = [await readPolicy(policy, layout), await readPolicy(reference, layout)];
  const perResponse = p.logProb.map((lp, i) => lp.reduce((a, x, t) => a + x - q.logProb[i][t], 0));
  return { kl: perResponse.reduce((a, x) => a + x, 0) / perResponse.length, n: perResponse.length };
}
