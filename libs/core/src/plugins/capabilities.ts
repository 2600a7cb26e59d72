/**
 * What plugins declare about the batches they make or read. Pairings (objective × architecture, encoding ×
 * architecture) are derived from these declarations, never from lists of other plugins' names, so a plugin from a
 * package pairs with every plugin that fits it, built-in or not.
 *
 *   BatchForm     'single-stack': one sequence per row (tokens, positions, the mask descriptors);
 *                 'encoder-decoder': batch.encoder holds the inputs, the rows hold the decoder's side.
 *   PositionDims  1: batch.positions; 2: positions and blockPositions (GLM's Part B orders a span by a second
 *                 position, Du et al. 2022 §2.3).
 *   MaskMode      how an example's keys are visible (batch.ts): 'causal' (prefixEnd 0), 'prefix' (a
 *                 bidirectional prefix, then causal), 'bidirectional' (prefixEnd covers the example).
 */
export type BatchForm = 'single-stack' | 'encoder-decoder';
export type PositionDims = 1 | 2;
export type MaskMode = 'causal' | 'prefix' | 'bidirectional';

/** What an architecture's model reads from a batch. */
export interface BatchConsumption {
  form: BatchForm;
  positionDims: PositionDims;
  /**
   * The mask modes it honours. A model that ignores prefixEnd honours only 'causal'; one that follows it honours all
   * three; an encoder only 'bidirectional'. An encoder-decoder's masks come with its form (the encoder sees its
   * whole input, the decoder is causal), so for it this lists what its two stacks do.
   */
  masks: readonly MaskMode[];
}

/** What an objective's batches hold. */
export interface BatchProduction {
  /** The forms it can make (an inputs → targets objective makes both: UL2's comparison, Tay et al. 2022 §3). */
  forms: readonly BatchForm[];
  /** 2 when its examples fill batch.blockPositions; otherwise blockPositions stay 0 and any model reads them. */
  positionDims: PositionDims;
  /** The mask modes its single-stack examples use. */
  masks: readonly MaskMode[];
}

const describeDims = (n: PositionDims) =>
  n === 1 ? 'one position dimension (batch.positions)' : "two position dimensions (batch.positions, and batch.blockPositions ordering GLM's spans, Du et al. 2022 §2.3)";

/**
 * Why an objective's batches cannot train a model that consumes `consumes`, or null when they can. A 'prefix'
 * example read by a causal-only model is T5's "Language model" pairing (Raffel et al. 2020 §3.2.1): the prefix is
 * read left to right, the loss is unchanged; a 'bidirectional' example needs a model that shows every key.
 */
export function productionMismatch(produces: BatchProduction, consumes: BatchConsumption): string | null {
  if (!produces.forms.includes(consumes.form)) return `it makes ${produces.forms.join(' or ')} batches and the model reads ${consumes.form} batches`;
  if (produces.positionDims > consumes.positionDims)
    return `its examples carry ${describeDims(produces.positionDims)} and the model reads ${describeDims(consumes.positionDims)}`;
  if (consumes.form === 'encoder-decoder') return null;
  const unread = produces.masks.filter((m) => !consumes.masks.includes(m) && !(m === 'prefix' && consumes.masks.includes('causal')));
  if (unread.length > 0)
    return `its ${unread.join(' and ')} examples need a mask the model does not honour (it honours ${consumes.masks.join(', ')})`;
  return null;
}

/** Why an encoding of `encodes` position dimensions cannot serve a stack that reads `reads`, or null. */
export function positionDimsMismatch(encodes: PositionDims, reads: PositionDims): string | null {
  return encodes === reads ? null : `it encodes ${describeDims(encodes)} and the model reads ${describeDims(reads)}`;
}
