import type { ContinuationLayout } from '@unilab/core';
import type { Presented } from './presentation.ts';

/**
 * One model input laid out as its objective trained it (presentation.ts), for an input and the target tokens so far.
 * The logits at `next` predict the token after `target`; for layouts that read targets as next tokens
 * (`perTokenTargets`), target[k] is predicted at `next - target.length + k`, so one row scores a whole target
 * (teacher forcing) and generation reads `next`.
 */
export interface ContinuationRow {
  tokens: number[];
  positions: number[];
  /** GLM's block positions, for layouts with 2D positions. */
  blockPositions?: number[];
  /** Bidirectional horizon of the row (the Batch's prefixEnd): 0 for causal. */
  prefixEnd: number;
  /** Encoder input ids, for encoder-decoder layouts. */
  encoderTokens?: number[];
  /** Index whose logits predict the next token. */
  next: number;
  /** Whether earlier target tokens are predicted at the positions before `next` (false: one query per row). */
  perTokenTargets: boolean;
  /** Input tokens dropped from the left to fit the length limit. */
  droppedInput: number;
}

/** The target (tokens so far) leaves no room in the model's length, whatever the input. */
export class TargetTooLongError extends Error {
  constructor(
    readonly targetTokens: number,
    readonly maxLength: number,
    readonly layout: string,
  ) {
    super(`a target of ${targetTokens} tokens does not fit the model's length ${maxLength} in ${layout}`);
  }
}

const counting = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

/**
 * The row for `input` and `target`, cut from the left of the input so that no stack exceeds `maxLength` (the
 * training length: positions beyond it were never trained). A target that cannot fit even with no input is refused.
 */
export function continuationRow(presented: Presented<ContinuationLayout>, input: readonly number[], target: readonly number[], maxLength: number): ContinuationRow {
  const { layout, ids } = presented;
  const id = (names: readonly string[]) => names.map((n) => ids[n]);
  // Tokens the layout adds around input and target, on the stack that holds the input.
  const { overhead, targetOnInputStack } = layoutCost(layout);
  const targetCost = targetOnInputStack ? target.length : 0;
  const room = maxLength - overhead - targetCost;
  const decoderNeed = layout.kind === 'encoder' || layout.kind === 'decoder-lm' ? 1 + target.length + (layout.kind === 'encoder' ? layout.targetPrefix.length : 0) : 0;
  const minimumInput = layout.kind === 'causal' ? 1 : 0;
  if (room < minimumInput || decoderNeed > maxLength) throw new TargetTooLongError(target.length, maxLength, `the ${layout.kind} layout of ${presented.objective}`);
  const kept = input.length > room ? input.slice(input.length - room) : [...input];
  if (kept.length < minimumInput) throw new Error('the causal layout needs at least one input token: the first token of a text is never predicted');
  const droppedInput = input.length - kept.length;
  switch (layout.kind) {
    case 'causal': {
      const tokens = [...kept, ...target];
      return { tokens, positions: counting(tokens.length), prefixEnd: 0, next: tokens.length - 1, perTokenTargets: true, droppedInput };
    }
    case 'prefix': {
      const partA = [...id(layout.inputPrefix), ...kept, ...id(layout.inputSuffix)];
      const partB = [...id(layout.targetPrefix), ...target];
      const tokens = [...partA, ...partB];
      const row: ContinuationRow = { tokens, positions: counting(tokens.length), prefixEnd: partA.length, next: tokens.length - 1, perTokenTargets: true, droppedInput };
      if (layout.glm2d) {
        // GLM's Part B: every token at the position of the blank (the last Part A token), block positions 1, 2, ...
        row.positions = [...counting(partA.length), ...partB.map(() => partA.length - 1)];
        row.blockPositions = [...partA.map(() => 0), ...counting(partB.length, 1)];
      }
      return row;
    }
    case 'encoder': {
      const encoderTokens = [...id(layout.inputPrefix), ...kept, ...id(layout.inputSuffix)];
      if (encoderTokens.length === 0) throw new Error(`the encoder layout of ${presented.objective} got an empty input`);
      const tokens = [ids.pad, ...id(layout.targetPrefix), ...target];
      return { tokens, positions: counting(tokens.length), prefixEnd: 0, encoderTokens, next: tokens.length - 1, perTokenTargets: true, droppedInput };
    }
    case 'decoder-lm': {
      const tokens = [ids.pad, ...kept, ...target];
      return { tokens, positions: counting(tokens.length), prefixEnd: 0, encoderTokens: id(layout.encoderInput), next: tokens.length - 1, perTokenTargets: true, droppedInput };
    }
    case 'mask-query': {
      const source = [...kept, ...id(layout.inputSuffix)];
      const tokens = [...source, ...target, ids[layout.mask]];
      return {
        tokens,
        positions: counting(tokens.length),
        prefixEnd: layout.bidirectionalInput ? source.length : 0,
        next: tokens.length - 1,
        perTokenTargets: false,
        droppedInput,
      };
    }
  }
}

/** Extra tokens a layout puts on the stack that holds the input, and whether the target shares that stack. */
function layoutCost(layout: ContinuationLayout): { overhead: number; targetOnInputStack: boolean } {
  switch (layout.kind) {
    case 'causal':
      return { overhead: 0, targetOnInputStack: true };
    case 'prefix':
      return { overhead: layout.inputPrefix.length + layout.inputSuffix.length + layout.targetPrefix.length, targetOnInputStack: true };
    case 'encoder':
      return { overhead: layout.inputPrefix.length + layout.inputSuffix.length, targetOnInputStack: false };
    case 'decoder-lm':
      return { overhead: 1, targetOnInputStack: true };
    case 'mask-query':
      return { overhead: layout.inputSuffix.length + 1, targetOnInputStack: true };
  }
}
