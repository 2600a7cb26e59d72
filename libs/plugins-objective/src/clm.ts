import { object, type ObjectivePlugin } from '@unilab/core';
import type { DocumentReader } from './document-reader.ts';
import { countingPositions, type Example } from './example.ts';
import { createPackingBatcher, specialId } from './packing.ts';

/**
 * Causal language modelling (Radford et al. 2018, GPT): predict every next token from the tokens before it.
 * Documents are packed one after another, each followed by eos, and each packed piece is its own segment.
 */
export const clmConfigSchema = object({});
export type ClmConfig = ReturnType<typeof clmConfigSchema.parse>;

/**
 * The next piece of the current document, as long as `room` allows: the document followed by eos, shifted by one
 * for the targets. When the document is cut at the end of a row its last target is the next token of the same
 * document (known from the carry-over); the eos itself is an input whose next token is another document, so it
 * carries no loss. A document cut right after its last token has already used eos as a target, so the eos is not
 * repeated at the start of the next row.
 */
export function causalPiece(reader: DocumentReader, room: number, eos: number): Example {
  const rest = reader.rest();
  const documentTokens = Math.min(room, rest.length);
  const withEos = room > rest.length;
  const tokens: number[] = Array.from(rest.subarray(0, documentTokens));
  const targets: number[] = [];
  const lossMask: number[] = [];
  for (let i = 0; i < documentTokens; i++) {
    targets.push(i + 1 < rest.length ? rest[i + 1] : eos);
    lossMask.push(1);
  }
  if (withEos) {
    tokens.push(eos);
    targets.push(eos);
    lossMask.push(0);
  }
  reader.consume(documentTokens);
  return { tokens, targets, lossMask, positions: countingPositions(tokens.length), prefixEnd: 0 };
}

export const clm: ObjectivePlugin<ClmConfig> = {
  kind: 'objective',
  name: 'clm',
  description: 'Causal LM (GPT): next-token prediction on packed documents, each ended by eos.',
  configSchema: clmConfigSchema,
  produces: { forms: ['single-stack'], positionDims: 1, masks: ['causal'] },
  specialTokens: [],
  createBatcher(_config, context, documents, rng) {
    const eos = specialId(context, 'eos', 'clm');
    return createPackingBatcher(clm, context, documents, rng, { encoder: false, blockPositions: false }, (space, reader) =>
      causalPiece(reader, space.decoder, eos),
    );
  },
  // Every task is a continuation of the text to the left.
  inference: () => ({ lm: { kind: 'causal' }, seq2seq: { kind: 'causal' } }),
};
