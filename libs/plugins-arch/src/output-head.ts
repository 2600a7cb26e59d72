import type { Parameter, Tape, Var } from '@unilab/core';
import { ops } from '@unilab/core';

/**
 * The output head: logits = h · W_out with W_out [d, V] (LLaMA: untied), or h · Eᵀ with the token table E [V, d]
 * (tied: Press & Wolf 2017; GPT-2, BERT, T5).
 */
export type OutputHead = { tied: true; table: Parameter } | { tied: false; output: Parameter };

export function outputHeadParameters(head: OutputHead): Parameter[] {
  return head.tied ? [] : [head.output];
}

export function logits(tape: Tape, h: Var, head: OutputHead): Var {
  return head.tied ? ops.linearTransposed(tape, h, tape.param(head.table)) : ops.linear(tape, h, tape.param(head.output));
}
