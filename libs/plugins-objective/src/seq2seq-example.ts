import type { BatchForm, ContinuationLayout, ObjectiveContext } from '@unilab/core';
import { countingPositions, type Example, type RowSpace } from './example.ts';

/**
 * The two forms of an inputs → targets objective in UL2's comparison (Tay et al. 2022, §3 and Table 3):
 * - decoder-only: inputs and targets concatenated in one sequence; the input part is bidirectional (prefix mask) and
 *   only the target part is predicted (seqio's PrefixLM feature converter);
 * - encoder-decoder: the encoder reads the inputs, the decoder reads the targets shifted right behind a start token
 *   (pad, as in T5) and predicts them.
 */
export type Seq2SeqForm = BatchForm;

export function seq2seqForm(context: ObjectiveContext): Seq2SeqForm {
  return context.form;
}

/**
 * One example from an input/target pair.
 *   single-stack:     tokens  = inputs ++ targets[:-1], targets shifted left by one, loss from the last input on,
 *                     prefixEnd = |inputs|
 *   encoder-decoder:  encoder = inputs; tokens = [pad] ++ targets[:-1]; loss on every target; causal decoder
 */
export function seq2seqExample(inputs: readonly number[], targets: readonly number[], form: Seq2SeqForm, pad: number): Example {
  if (form === 'encoder-decoder') {
    const tokens = [pad, ...targets.slice(0, -1)];
    return {
      tokens,
      targets: [...targets],
      lossMask: targets.map(() => 1),
      positions: countingPositions(tokens.length),
      prefixEnd: 0,
      encoderTokens: [...inputs],
    };
  }
  const sequence = [...inputs, ...targets];
  const tokens = sequence.slice(0, -1);
  return {
    tokens,
    targets: sequence.slice(1),
    lossMask: tokens.map((_, t) => (t >= inputs.length - 1 ? 1 : 0)),
    positions: countingPositions(tokens.length),
    prefixEnd: inputs.length,
  };
}

/** Does a pair of these lengths fit the room left in the row? */
export function seq2seqFits(inputs: number, targets: number, form: Seq2SeqForm, space: RowSpace): boolean {
  return form === 'encoder-decoder' ? inputs <= space.encoder && targets <= space.decoder : inputs + targets - 1 <= space.decoder;
}

/**
 * The inference layout of an input → target objective in the form it trained with (see seq2seqExample): a single
 * stack reads the input as a bidirectional prefix, an encoder-decoder through its encoder.
 */
export function seq2seqLayout(
  form: BatchForm,
  inputPrefix: readonly string[],
  inputSuffix: readonly string[],
  targetPrefix: readonly string[],
): ContinuationLayout {
  return form === 'encoder-decoder'
    ? { kind: 'encoder', inputPrefix, inputSuffix, targetPrefix }
    : { kind: 'prefix', inputPrefix, inputSuffix, targetPrefix, glm2d: false };
}
