import type { Tape, Var } from '../autodiff/tape.ts';
import type { BatchTensors } from '../batch-tensors.ts';
import type { Parameter } from '../nn/parameter.ts';

/**
 * What a built model shows of its insides, beyond its logits, to the tools that read them: the fine-tuning
 * classifier, the reward model and PPO's value head read its final hidden states; attention rank (Dong et al. 2021)
 * and attention degeneration (Fu et al. 2023) read its attention. Each reading is optional, so an architecture
 * without them still trains, scores and generates; a tool that needs one refuses a model without it through
 * `modelReading`, naming the architecture and the reading. Nothing here names a parameter: the model hands over the
 * function and the parameter objects themselves.
 */

/** The final hidden states the output head reads (after the final norm), for heads of other tasks. */
export interface HiddenStates {
  /** Their width (the model's dModel): a head on them has this many inputs. */
  readonly width: number;
  /** H [batchSize, seqLen, width] for the batch's (decoder) positions; the batch is in the architecture's form. */
  read(tape: Tape, batch: BatchTensors): Var;
}

/**
 * One `ops.attention` call of the model's forward. The analyses run the forward on a tape that keeps every op's
 * inputs and read q, k, v and the additive bias of each recorded `attention` op; the sites say which op is which,
 * in the order the forward records them (one per op: the counts must agree).
 */
export interface AttentionSite {
  /** 'stack': a one-stack model's only stack; 'encoder' or 'decoder': a side of an encoder-decoder. */
  readonly stack: 'stack' | 'encoder' | 'decoder';
  /** The layer within its stack, from 0. */
  readonly layer: number;
  /** 'self': over its own stack's positions; 'cross': over the encoder's output (a decoder's second attention). */
  readonly attends: 'self' | 'cross';
  /** Wo [heads · headDim, dModel]: what projects the attention's output into the residual stream. */
  readonly output: Parameter;
}

/** The optional readings of a model (Model's fields of these names). */
export interface ModelReadings {
  readonly hiddenStates?: HiddenStates;
  readonly attentionSites?: readonly AttentionSite[];
}

const READING_DESCRIPTION: Record<keyof ModelReadings, string> = {
  hiddenStates: 'its final hidden states (Model.hiddenStates: their width and a read from a batch)',
  attentionSites: 'where its attention ops are (Model.attentionSites: stack, layer, self or cross, output projection of each ops.attention call, in forward order)',
};

/** A model's reading, or an error saying which tool needs which reading of which architecture. */
export function modelReading<K extends keyof ModelReadings>(
  model: ModelReadings & { readonly architecture: string },
  reading: K,
  tool: string,
): NonNullable<ModelReadings[K]> {
  const value = model[reading];
  if (value === undefined)
    throw new Error(`${tool} reads ${READING_DESCRIPTION[reading]}; architecture "${model.architecture}" does not expose it, so ${tool} cannot run on it`);
  return value as NonNullable<ModelReadings[K]>;
}
