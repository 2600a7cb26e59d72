import { continuationRow, encodePrompt, TargetTooLongError } from '@unilab/runner';
import { continuationFormat, loglikelihoods, type ContinuationTask, type ScoringModel } from '../scoring.ts';
import { byteLength } from '../tasks/passages.ts';
import type { ScoreFn } from './score-fn.ts';

/**
 * The task kind a few-shot prompt is read as: a prompt followed by its answer is an input mapped to a target, so
 * seq2seq where the model's objective declares it (UL2's [S2S], a prefix LM's bidirectional prompt ended by eos, an
 * encoder-decoder's encoder), else plain continuation.
 */
export function fewShotReading(model: ScoringModel): ContinuationTask {
  return model.presentation.seq2seq ? 'seq2seq' : 'lm';
}

/** A checkpoint as a ScoreFn: lm-evaluation-harness's loglikelihood, laid out as the model was trained. */
export function modelScoreFn(model: ScoringModel, task: ContinuationTask = fewShotReading(model)): ScoreFn {
  return async (requests) => {
    const scores = await loglikelihoods(model, task, requests);
    return scores.map((s, i) => ({ logprob: s.logProb, tokens: s.tokens, bytes: byteLength(requests[i].continuation), truncated: s.droppedInput > 0 }));
  };
}

/**
 * Whether a continuation fits the model's window with at least one token of context in the task's layout (its
 * special tokens counted). A choice that cannot fit cannot be scored at all; cutting the context never helps it.
 */
export function continuationFits(model: ScoringModel, task: ContinuationTask, continuation: string): boolean {
  const target = encodePrompt(model.tokenizer, continuation);
  try {
    continuationRow(continuationFormat(model, task), target.slice(0, 1), target.slice(0, -1), model.seqLen);
    return true;
  } catch (error) {
    if (error instanceof TargetTooLongError) return false;
    throw error;
  }
}
