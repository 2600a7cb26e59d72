import { field, number, object, type BatchForm, type InferencePresentation, type ObjectivePlugin, type Rng } from '@unilab/core';
import type { DocumentReader } from './document-reader.ts';
import { countingPositions, type Example, type RowSpace } from './example.ts';
import { choosePredictionPositions, maskTokens, ordinaryTokenDrawer } from './masked-tokens.ts';
import { createPackingBatcher, specialId, type ObjectiveCounts } from './packing.ts';
import { bump, restWithAtLeast } from './pieces.ts';
import { seq2seqExample, seq2seqForm, seq2seqLayout } from './seq2seq-example.ts';

/**
 * UniLM (Dong et al. 2019, §2 and §2.3): one Transformer trained with cloze tasks under four self-attention masks.
 * In a batch, 1/3 of the examples are bidirectional, 1/3 sequence-to-sequence, 1/6 left-to-right and 1/6
 * right-to-left. Pieces shorter than 2 tokens are skipped and counted (`skippedShortPieces`) in both forms; a 2- or
 * 3-token piece is used whole (at least one token is always chosen where masking applies, and seq2seq splits it).
 *
 * Decoder-only form. In every mode 15% of the text tokens are predicted, shown as [MASK] 80% / random 10% /
 * themselves 10%; a chosen run is a bigram or trigram 20% of the time (§2.2). Layouts (eos plays UniLM's [EOS]):
 *   bidirectional:  text eos                 prefixEnd = whole example
 *   seq2seq:        source eos target eos    prefixEnd = |source eos| (source bidirectional, target left-to-right)
 *   left-to-right:  text eos                 prefixEnd = 0
 *   right-to-left:  reversed(text eos)       prefixEnd = 0
 * The batch's single mask rule only expresses left-to-right, so right-to-left is the left-to-right mask over the
 * reversed example: tokens, targets and positions all follow the reversed order, and each position sees the
 * original text to its right.
 *
 * Encoder-decoder form. UL2 (Tay et al. 2022, §3.1.2) trains its UniLM baseline on both forms by reading it as causal
 * LM + prefix (seq2seq) LM + bidirectional i.i.d. denoising whose masked tokens are *generated*, not filled in as a
 * cloze. Here the bidirectionally visible part goes to the encoder and the decoder generates left to right, reading
 * its targets shifted right behind a start token (T5):
 *   bidirectional:  encoder = masked(text) eos    decoder predicts text eos, loss on the chosen positions only
 *   seq2seq:        encoder = source eos          decoder predicts target eos, every token (split uniform, as prefixlm)
 *   left-to-right:  encoder = eos                 decoder predicts text eos, every token          (start token pad)
 *   right-to-left:  encoder = eos                 decoder predicts reversed(text) eos, every token (start token eos)
 * Masking (15%, 80/10/10, bigram/trigram runs) applies in the bidirectional mode only. The decoder is aligned with
 * the text, so the prediction at position i is text[i] and the 10% random / 10% unchanged tokens, which leave no mark
 * in the encoder input, keep their place (a decoder emitting only the chosen tokens could not tell which unmarked
 * tokens were chosen). The loss stays on the chosen 15%: elsewhere the encoder shows the answer. In the other modes
 * a generating decoder already predicts every target token from the ones before it, so masking would only drop
 * predictions, and masked source tokens would be lost (the encoder has no loss). Left-to-right has no input, so the
 * encoder reads only eos (T5's empty input, as SCLM's causal LM); the decoder's start token tells the direction, as
 * the decoder-only right-to-left example begins with eos. Every mode gives the text back from encoder inputs and
 * decoder targets.
 */
export type UnilmMode = 'bidirectional' | 'seq2seq' | 'left-to-right' | 'right-to-left';

export const unilmConfigSchema = object({
  bidirectionalRate: field(number({ min: 0 }), 1 / 3),
  seq2seqRate: field(number({ min: 0 }), 1 / 3),
  leftToRightRate: field(number({ min: 0 }), 1 / 6),
  rightToLeftRate: field(number({ min: 0 }), 1 / 6),
  maskRatio: field(number({ greaterThan: 0, max: 0.9 }), 0.15),
  ngramProbability: field(number({ min: 0, max: 1 }), 0.2),
});
export type UnilmConfig = ReturnType<typeof unilmConfigSchema.parse>;

interface UnilmTokens {
  eos: number;
  pad: number;
  mask: number;
  randomToken: (rng: Rng) => number;
}

function pickMode(config: UnilmConfig, rng: Rng): UnilmMode {
  const rates: [UnilmMode, number][] = [
    ['bidirectional', config.bidirectionalRate],
    ['seq2seq', config.seq2seqRate],
    ['left-to-right', config.leftToRightRate],
    ['right-to-left', config.rightToLeftRate],
  ];
  let u = rng.uniform() * rates.reduce((sum, [, r]) => sum + r, 0);
  for (const [mode, rate] of rates) {
    u -= rate;
    if (u < 0) return mode;
  }
  return 'right-to-left';
}

/** The next piece of at least 2 tokens (shorter rests are skipped and counted), at most `room` (>= 2) long. */
function takePiece(reader: DocumentReader, room: number, counts: ObjectiveCounts): number[] {
  const rest = restWithAtLeast(reader, 2, counts, 'unilm');
  const length = Math.min(rest.length, room);
  reader.consume(length);
  return Array.from(rest.subarray(0, length));
}

function decoderOnlyExample(config: UnilmConfig, space: RowSpace, reader: DocumentReader, ids: UnilmTokens, rng: Rng, counts: ObjectiveCounts): Example | null {
  const mode = pickMode(config, rng);
  const room = space.decoder - (mode === 'seq2seq' ? 2 : 1);
  if (room < 2) return null;
  const piece = takePiece(reader, room, counts);
  const length = piece.length;
  const split = mode === 'seq2seq' ? 1 + rng.int(length - 1) : length;
  const sequence = mode === 'seq2seq' ? [...piece.slice(0, split), ids.eos, ...piece.slice(split), ids.eos] : [...piece, ids.eos];
  const textPositions = sequence.flatMap((_, i) => (i === split || i === sequence.length - 1 ? [] : [i]));
  const chosen = choosePredictionPositions(textPositions, config, rng);
  const masked = maskTokens(sequence, chosen, ids.mask, ids.randomToken, rng);
  bump(counts, `${mode}Examples`);
  const example: Example = { ...masked, positions: countingPositions(sequence.length), prefixEnd: 0 };
  if (mode === 'bidirectional') example.prefixEnd = sequence.length;
  if (mode === 'seq2seq') example.prefixEnd = split + 1;
  if (mode === 'right-to-left') {
    example.tokens.reverse();
    example.targets.reverse();
    example.lossMask.reverse();
  }
  return example;
}

function encoderDecoderExample(config: UnilmConfig, space: RowSpace, reader: DocumentReader, ids: UnilmTokens, rng: Rng, counts: ObjectiveCounts): Example | null {
  // A piece of n tokens takes n + 1 decoder positions in every mode; bidirectional takes n + 1 encoder positions and
  // seq2seq up to n (every split point must fit), the directional modes one. The row is closed unless a 2-token
  // piece fits every mode, so that the mode is drawn independently of what is left in the row: the rates hold.
  if (Math.min(space.encoder, space.decoder) < 3) return null;
  const mode = pickMode(config, rng);
  const directional = mode === 'left-to-right' || mode === 'right-to-left';
  const piece = takePiece(reader, directional ? space.decoder - 1 : Math.min(space.encoder, space.decoder) - 1, counts);
  bump(counts, `${mode}Examples`);
  const { eos, pad } = ids;
  if (mode === 'bidirectional') {
    const chosen = choosePredictionPositions(countingPositions(piece.length), config, rng);
    const masked = maskTokens(piece, chosen, ids.mask, ids.randomToken, rng);
    const example = seq2seqExample([...masked.tokens, eos], [...piece, eos], 'encoder-decoder', pad);
    example.lossMask = [...masked.lossMask, 0];
    return example;
  }
  if (mode === 'seq2seq') {
    const split = 1 + rng.int(piece.length - 1);
    return seq2seqExample([...piece.slice(0, split), eos], [...piece.slice(split), eos], 'encoder-decoder', pad);
  }
  if (mode === 'left-to-right') return seq2seqExample([eos], [...piece, eos], 'encoder-decoder', pad);
  const example = seq2seqExample([eos], [...piece.reverse(), eos], 'encoder-decoder', pad);
  example.tokens[0] = eos;
  return example;
}

/**
 * UniLM at inference (Dong et al. 2019, §2.3: decoding appends a [MASK] and predicts it). Decoder-only it is a cloze
 * model, so each target token is asked for at a [MASK] after the tokens before it: LM under the left-to-right mask,
 * seq2seq with the source and its eos as a bidirectional prefix; spans are filled under the bidirectional mask. On an
 * encoder-decoder its decoder generates (left-to-right mode: the encoder reads eos; seq2seq: source + eos).
 * A mode trained at rate 0 is replaced by its neighbour (left-to-right ↔ seq2seq).
 */
export function unilmInference(config: UnilmConfig, form: BatchForm): InferencePresentation {
  const leftToRight = config.leftToRightRate > 0 || config.seq2seqRate === 0;
  const seq2seq = config.seq2seqRate > 0 || !leftToRight;
  const infilling = config.bidirectionalRate > 0 ? ({ kind: 'cloze', mask: 'MASK' } as const) : undefined;
  if (form === 'encoder-decoder') {
    const lm = { kind: 'decoder-lm', encoderInput: ['eos'] } as const;
    const s2s = seq2seqLayout(form, [], ['eos'], []);
    return { lm: leftToRight ? lm : s2s, seq2seq: seq2seq ? s2s : lm, infilling };
  }
  const lm = { kind: 'mask-query', mask: 'MASK', bidirectionalInput: false, inputSuffix: [] } as const;
  const s2s = { kind: 'mask-query', mask: 'MASK', bidirectionalInput: true, inputSuffix: ['eos'] } as const;
  return { lm: leftToRight ? lm : s2s, seq2seq: seq2seq ? s2s : lm, infilling };
}

export const unilm: ObjectivePlugin<UnilmConfig> = {
  kind: 'objective',
  name: 'unilm',
  description: 'UniLM: bidirectional (1/3), seq2seq (1/3), left-to-right and right-to-left (1/6 each); 15% masked, generated on encoder-decoder.',
  configSchema: unilmConfigSchema,
  // Decoder-only: UniLM is one Transformer whose masks come from the batch, so any decoder stack that follows the
  // mask rule fits; the causal `decoder` does not (its bidirectional cloze would see only the left context).
  // Encoder-decoder: UL2's generative reading (Tay et al. 2022, §3.1.2), laid out above.
  produces: { forms: ['single-stack', 'encoder-decoder'], positionDims: 1, masks: ['bidirectional', 'prefix', 'causal'] },
  specialTokens: ['MASK'],
  createBatcher(config, context, documents, rng) {
    const name = 'unilm';
    const form = seq2seqForm(context);
    const ids: UnilmTokens = {
      eos: specialId(context, 'eos', name),
      pad: specialId(context, 'pad', name),
      mask: specialId(context, 'MASK', name),
      randomToken: ordinaryTokenDrawer(context, name),
    };
    if (!(config.bidirectionalRate + config.seq2seqRate + config.leftToRightRate + config.rightToLeftRate > 0))
      throw new Error('unilm: the mode rates sum to 0; give at least one a rate > 0');
    const makeExample = form === 'encoder-decoder' ? encoderDecoderExample : decoderOnlyExample;

    return createPackingBatcher(unilm, context, documents, rng, { encoder: form === 'encoder-decoder', blockPositions: false }, (space, reader, rng, counts) =>
      makeExample(config, space, reader, ids, rng, counts),
    );
  },
  inference: unilmInference,
};
