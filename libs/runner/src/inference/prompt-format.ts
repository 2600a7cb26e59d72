import type { InferenceLayout, PluginRegistry, Tokenizer } from '@unilab/core';
import { objectiveComponents, type ObjectiveSpec } from '../objective-mixture.ts';

/**
 * How a model is given a prompt at inference: its objective's declared layout (core's InferenceLayout) with the
 * special tokens resolved, for its architecture. Generation and scoring build their sequences with `promptRow`, so
 * both present an input exactly as training did (the eos that ends an input, the bidirectional prefix, UL2's mode
 * token, GLM's mask and 2D positions, UniLM's [MASK]).
 */
export interface PromptFormat {
  layout: InferenceLayout;
  /** The input goes to an encoder, the answer to a decoder that starts from pad (T5). */
  encoderDecoder: boolean;
  /** Tokens that lead the input: UL2's paradigm token for the chosen mode, else none. */
  lead: number[];
  eos: number;
  pad: number;
  /** cloze: the [MASK] predicted in place; blank-infilling: the mask that stands for the answer in Part A. */
  mask?: number;
  /** blank-infilling: [sop], the token that starts the answer. */
  start?: number;
  /** The token that ends an answer: eos, or GLM's [eop]. */
  stop: number;
}

/**
 * The layout a model's objective declares (a mixture: its largest component's, the first of equals); objectives that
 * declare none are plain continuations.
 */
export function inferenceLayout(objective: ObjectiveSpec, architecture: string, registry: PluginRegistry): InferenceLayout {
  const components = objectiveComponents(objective);
  const main = components.reduce((best, c) => (c.weight > best.weight ? c : best), components[0]);
  const plugin = registry.objective(main.name);
  const config = plugin.configSchema.parse(main.config, `spec.objective${main.path}.config`);
  return plugin.inferenceLayout?.(config, architecture) ?? { kind: 'continuation' };
}

export interface PromptFormatRequest {
  layout: InferenceLayout;
  /** The objective's label, for messages. */
  objective: string;
  encoderDecoder: boolean;
  tokenizer: Tokenizer;
  /** UL2's paradigm (NLU, NLG, S2S) for models whose objective declares modes; absent: the objective's default. */
  mode?: string;
}

export function resolvePromptFormat(request: PromptFormatRequest): PromptFormat {
  const { layout, objective, encoderDecoder, tokenizer, mode } = request;
  const special = (name: string) => {
    const id = tokenizer.specialTokens[name];
    if (id === undefined) throw new Error(`the model's tokenizer has no special token "${name}", which its objective (${objective}) prompts with`);
    return id;
  };
  const modes = layout.kind === 'input-target' ? layout.modes : undefined;
  if (mode !== undefined && !modes)
    throw new Error(`mode "${mode}": this model was trained with ${objective}, whose inputs carry no mode token (UL2 with modeTokens has NLU, NLG, S2S)`);
  const chosen = mode ?? (layout.kind === 'input-target' ? layout.defaultMode : undefined);
  if (chosen !== undefined && modes && !(chosen in modes)) throw new Error(`mode "${chosen}": expected one of ${Object.keys(modes).join(', ')}`);
  const format: PromptFormat = {
    layout,
    encoderDecoder,
    lead: chosen !== undefined && modes ? [special(modes[chosen])] : [],
    eos: special('eos'),
    pad: special('pad'),
    stop: special('eos'),
  };
  if (layout.kind === 'cloze') format.mask = special(layout.mask);
  if (layout.kind === 'blank-infilling') {
    format.mask = special(layout.mask);
    format.start = special(layout.start);
    format.stop = special(layout.end);
  }
  if (format.encoderDecoder && (layout.kind === 'cloze' || layout.kind === 'blank-infilling'))
    throw new Error(`an encoder-decoder cannot be prompted with the ${layout.kind} layout of ${objective}`);
  return format;
}

/** One sequence as the model reads it: the decoder (or only) stack's row and, for an encoder-decoder, the encoder's input. */
export interface PromptRow {
  tokens: number[];
  positions: number[];
  /** GLM's block positions. */
  blockPositions?: number[];
  /** The row's bidirectional horizon, shared by its tokens (batch.ts's rule): the input's length, 0 when causal. */
  prefixEnd: number;
  encoder?: number[];
}

const counting = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * The row for an input and the answer so far, in the format's layout; its last token is the one whose logits predict
 * the answer's next token. Layouts (I = input, A = answer so far, lead = mode token):
 *   continuation     I A                          causal; encoder-decoder: encoder eos, decoder pad I A
 *   input-target     lead I eos | A               prefix = |lead I eos|; encoder-decoder: encoder lead I eos, decoder pad A
 *   cloze            I eos | A [MASK]             prefix = |I eos|
 *   blank-infilling  I [gMASK] | [sop] A          prefix = |I [gMASK]|; Part B at the mask's position, block 1, 2, ...
 */
export function promptRow(format: PromptFormat, input: readonly number[], answer: readonly number[]): PromptRow {
  const { layout, lead, eos, pad } = format;
  if (format.encoderDecoder) {
    const [encoder, decoder] = layout.kind === 'continuation' ? [[eos], [pad, ...input, ...answer]] : [[...lead, ...input, eos], [pad, ...answer]];
    return { tokens: decoder, positions: counting(decoder.length), prefixEnd: 0, encoder };
  }
  if (layout.kind === 'continuation') {
    const tokens = [...input, ...answer];
    return { tokens, positions: counting(tokens.length), prefixEnd: 0 };
  }
  if (layout.kind === 'input-target') {
    const prefix = [...lead, ...input, eos];
    const tokens = [...prefix, ...answer];
    return { tokens, positions: counting(tokens.length), prefixEnd: prefix.length };
  }
  if (layout.kind === 'cloze') {
    const tokens = [...input, eos, ...answer, format.mask!];
    return { tokens, positions: counting(tokens.length), prefixEnd: input.length + 1 };
  }
  const partA = [...input, format.mask!];
  const partB = [format.start!, ...answer];
  return {
    tokens: [...partA, ...partB],
    positions: [...counting(partA.length), ...partB.map(() => input.length)],
    blockPositions: [...partA.map(() => 0), ...partB.map((_, i) => i + 1)],
    prefixEnd: partA.length,
  };
}

/** The longest sequence a row puts in one stack (the encoder's or the decoder's). */
export function rowLength(row: PromptRow): number {
  return Math.max(row.tokens.length, row.encoder?.length ?? 0);
}
