import { PAD_SEGMENT, Rng, type Batch, type Batcher, type DocumentStream, type ObjectiveContext, type ObjectivePlugin, type RngState } from '@unilab/core';
import { createDocumentReader, type DocumentReader, type DocumentReaderState } from './document-reader.ts';
import type { Example, RowSpace } from './example.ts';

/** Counters an objective keeps about the bad input it met (documented rules, e.g. a piece too short to corrupt). */
export type ObjectiveCounts = Record<string, number>;

/**
 * Builds the next example from the current document piece. It must fit `space`; it returns null when nothing useful
 * fits in what is left of the row (the row is then closed with padding). Given an empty row it must return an example.
 */
export type ExampleMaker = (space: RowSpace, reader: DocumentReader, rng: Rng, counts: ObjectiveCounts) => Example | null;

export interface PackingBatcherState {
  rng: RngState;
  reader: DocumentReaderState;
  counts: ObjectiveCounts;
}

export interface PackingBatcher extends Batcher {
  state(): PackingBatcherState;
  /** Counters of bad input met so far (also part of state()). */
  counts(): Readonly<ObjectiveCounts>;
}

export interface PackingLayout {
  /** Whether the batches carry encoder inputs (encoder-decoder form). */
  encoder: boolean;
  /** Whether the batches carry GLM's block positions. */
  blockPositions: boolean;
}

/**
 * Packs examples into [batchSize, seqLen] rows (and [batchSize, encoderLen] encoder rows): each example is its own
 * segment, positions come from the example (they restart at 0 for each one), the tail of a row is padding
 * (segment PAD_SEGMENT, loss 0, pad token). In the encoder-decoder form an example's encoder and decoder parts get the
 * same segment id, so each decoder example cross-attends only to its own encoder example (T5's packing).
 */
export function createPackingBatcher(
  plugin: Pick<ObjectivePlugin<never>, 'name' | 'produces'>,
  context: ObjectiveContext,
  documents: DocumentStream,
  seedRng: Rng,
  layout: PackingLayout,
  makeExample: ExampleMaker,
): PackingBatcher {
  const objective = plugin.name;
  // Spec validation refuses such pairs; this guards direct callers too.
  if (!plugin.produces.forms.includes(context.form))
    throw new Error(`${objective}: makes ${plugin.produces.forms.join(' or ')} batches, not ${context.form}`);
  const { batchSize, seqLen } = context;
  const encoderLen = layout.encoder ? (context.encoderLen ?? 0) : 0;
  if (layout.encoder && encoderLen <= 0)
    throw new Error(`${objective}: the encoder-decoder form needs context.encoderLen > 0, got ${context.encoderLen}`);
  const pad = specialId(context, 'pad', objective);
  const reader = createDocumentReader(documents);
  let rng = seedRng;
  let counts: ObjectiveCounts = {};

  function next(): Batch {
    const batch = emptyBatch(batchSize, seqLen, encoderLen, layout, pad);
    for (let row = 0; row < batchSize; row++) fillRow(batch, row);
    return batch;
  }

  function fillRow(batch: Batch, row: number): void {
    let used = 0;
    let encoderUsed = 0;
    for (let segment = 0; ; segment++) {
      const space = { decoder: seqLen - used, encoder: encoderLen - encoderUsed };
      if (space.decoder <= 0) return;
      const example = makeExample(space, reader, rng, counts);
      if (example === null) {
        if (segment === 0)
          throw new Error(`${objective}: no example fits an empty row of ${seqLen} tokens (encoder ${encoderLen}); use longer sequences`);
        return;
      }
      const length = example.tokens.length;
      const encoderTokens = example.encoderTokens ?? [];
      if (length === 0 || length > space.decoder || encoderTokens.length > space.encoder || (layout.encoder && encoderTokens.length === 0))
        throw new Error(`${objective}: internal error, an example of ${length} (encoder ${encoderTokens.length}) tokens was made for ${JSON.stringify(space)}`);
      writeDecoderPart(batch, row * seqLen + used, segment, example, pad);
      if (batch.encoder) encoderUsed = writeEncoderPart(batch, row * encoderLen, encoderUsed, segment, encoderTokens);
      used += length;
    }
  }

  return {
    next,
    counts: () => ({ ...counts, skippedEmptyDocuments: reader.state().skippedEmptyDocuments }),
    state: () => ({ rng: rng.state(), reader: reader.state(), counts: { ...counts } }),
    restore(state: unknown) {
      const saved = state as PackingBatcherState;
      rng = new Rng(saved.rng);
      reader.restore(saved.reader);
      counts = { ...saved.counts };
    },
  };
}

/** A batch of padding: every position pad, segment PAD_SEGMENT, no loss; encoder rows and block positions as laid out. */
function emptyBatch(batchSize: number, seqLen: number, encoderLen: number, layout: PackingLayout, pad: number): Batch {
  const size = batchSize * seqLen;
  const batch: Batch = {
    batchSize,
    seqLen,
    tokens: new Int32Array(size).fill(pad),
    targets: new Int32Array(size).fill(pad),
    lossMask: new Float32Array(size),
    segmentIds: new Int32Array(size).fill(PAD_SEGMENT),
    prefixEnd: new Int32Array(size),
    positions: new Int32Array(size),
  };
  if (layout.blockPositions) batch.blockPositions = new Int32Array(size);
  if (layout.encoder) {
    const encoderSize = batchSize * encoderLen;
    batch.encoder = {
      tokens: new Int32Array(encoderSize).fill(pad),
      encoderLen,
      segmentIds: new Int32Array(encoderSize).fill(PAD_SEGMENT),
      prefixEnd: new Int32Array(encoderSize),
      positions: new Int32Array(encoderSize),
    };
  }
  return batch;
}

/** An example's (decoder) part at flat index `start`: its prefixEnd made relative to the row. */
function writeDecoderPart(batch: Batch, start: number, segment: number, example: Example, pad: number): void {
  const rowStart = start - (start % batch.seqLen);
  const prefixEnd = example.prefixEnd > 0 ? start - rowStart + example.prefixEnd : 0;
  for (let i = 0; i < example.tokens.length; i++) {
    const at = start + i;
    batch.tokens[at] = example.tokens[i];
    batch.targets[at] = example.lossMask[i] ? example.targets[i] : pad;
    batch.lossMask[at] = example.lossMask[i];
    batch.segmentIds[at] = segment;
    batch.prefixEnd[at] = prefixEnd;
    batch.positions[at] = example.positions[i];
    if (batch.blockPositions) batch.blockPositions[at] = example.blockPositions?.[i] ?? 0;
  }
}

/**
 * An example's encoder part after the `used` positions of the encoder row starting at `rowStart`: bidirectional
 * within its segment (prefixEnd at its end). Returns the encoder positions used after it.
 */
function writeEncoderPart(batch: Batch, rowStart: number, used: number, segment: number, tokens: readonly number[]): number {
  const encoder = batch.encoder!;
  const start = rowStart + used;
  const end = used + tokens.length;
  for (let i = 0; i < tokens.length; i++) {
    encoder.tokens[start + i] = tokens[i];
    encoder.segmentIds[start + i] = segment;
    encoder.prefixEnd[start + i] = end;
    encoder.positions[start + i] = i;
  }
  return end;
}

/** The id of a special token the objective needs, or an error naming the missing token. */
export function specialId(context: ObjectiveContext, name: string, objective: string): number {
  const id = context.specialTokens[name];
  if (id === undefined)
    throw new Error(`${objective}: context.specialTokens has no "${name}" (has ${Object.keys(context.specialTokens).join(', ')})`);
  return id;
}
