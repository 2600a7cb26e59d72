import { describe, expect, it } from 'vitest';
import { Rng } from '@unilab/core';
import type { PackingBatcher } from '../src/packing.ts';
import { expectBatchContract } from './helpers/batch-contract.ts';
import { byteContext, byteTokenIds } from '../src/byte-token-view.ts';
import { arrayStream, sotuSentences, utf8Tokens } from './helpers/real-text.ts';
import { collectSegments, expectPiecesFollowStream, expectResumesExactly, segmentsOf, type PackedSegment } from './helpers/segments.ts';
import { unilm, type UnilmMode } from '../src/unilm.ts';

const sentences = sotuSentences(30);

function batcher(seed = 1) {
  const context = byteContext(unilm.specialTokens, { batchSize: 16, seqLen: 256, form: 'single-stack' });
  return { context, batcher: unilm.createBatcher(unilm.configSchema.parse({}, 'objective'), context, arrayStream(sentences), new Rng(seed)) as PackingBatcher };
}

function encoderDecoderBatcher(seed = 1, documents = sentences, seqLen = 256) {
  const context = byteContext(unilm.specialTokens, { batchSize: 16, seqLen, encoderLen: seqLen, form: 'encoder-decoder' });
  return { context, batcher: unilm.createBatcher(unilm.configSchema.parse({}, 'objective'), context, arrayStream(documents), new Rng(seed)) as PackingBatcher };
}

const { eos, pad, MASK } = byteTokenIds(unilm.specialTokens);

const RATE_FIELDS: Record<UnilmMode, string> = {
  bidirectional: 'bidirectionalRate',
  seq2seq: 'seq2seqRate',
  'left-to-right': 'leftToRightRate',
  'right-to-left': 'rightToLeftRate',
};

interface EncoderDecoderReading {
  mode: UnilmMode;
  /** The original piece of text, rebuilt from the encoder inputs and the decoder targets alone. */
  piece: number[];
  /** Chosen (predicted) positions and, of those, the ones shown as [MASK] (bidirectional mode only). */
  predicted: number;
  masked: number;
}

/**
 * Reads an encoder-decoder UniLM example back: its mode from the layout (see unilm.ts) and its text from the encoder
 * inputs plus the decoder's targets where the loss counts. Throws where the layout is broken.
 */
function readEncoderDecoder(s: PackedSegment): EncoderDecoderReading {
  const encoder = s.encoderTokens;
  const fail = (why: string) => {
    throw new Error(`${why}: encoder ${encoder.join(',')} / decoder ${s.tokens.join(',')}`);
  };
  if (s.prefixEnd !== 0) fail('the decoder must be causal');
  if (encoder[encoder.length - 1] !== eos) fail('the encoder input must end with eos');
  if (s.lossMask.every((m) => m === 1)) {
    // Generated targets: the decoder reads them shifted right behind its start token and predicts each, then eos.
    if (s.predicted[s.predicted.length - 1] !== eos) fail('the targets must end with eos');
    if (s.tokens.some((id, i) => i > 0 && id !== s.predicted[i - 1])) fail('the decoder must read its targets shifted right');
    const text = s.predicted.slice(0, -1);
    if (encoder.length > 1) {
      if (s.tokens[0] !== pad) fail('seq2seq starts with pad');
      return { mode: 'seq2seq', piece: [...encoder.slice(0, -1), ...text], predicted: 0, masked: 0 };
    }
    if (s.tokens[0] === pad) return { mode: 'left-to-right', piece: text, predicted: 0, masked: 0 };
    if (s.tokens[0] === eos) return { mode: 'right-to-left', piece: text.reverse(), predicted: 0, masked: 0 };
    fail('unknown start token');
  }
  // Bidirectional: the decoder is aligned with the encoder's text; the loss sits on the chosen positions.
  if (s.tokens.length !== encoder.length || s.tokens[0] !== pad || s.lossMask[s.lossMask.length - 1] !== 0)
    fail('a bidirectional example is the text plus eos on both sides, with no loss on eos');
  const piece = encoder.slice(0, -1).map((id, i) => (s.lossMask[i] ? s.targets[i] : id));
  if (s.tokens.some((id, i) => i > 0 && id !== piece[i - 1])) fail('the decoder must read the original text shifted right');
  const predicted = s.lossMask.reduce((a, m) => a + m, 0);
  const masked = encoder.filter((id, i) => s.lossMask[i] && id === MASK).length;
  return { mode: 'bidirectional', piece, predicted, masked };
}

describe('unilm', () => {
  it('over 10,000 examples: modes 1/3, 1/3, 1/6, 1/6 (±2%), 15% ± 1% predicted, text comes back in every mode', () => {
    const { context, batcher: b } = batcher();
    const { eos, MASK, pad } = context.specialTokens;
    const segments = collectSegments(b, 10_000, (batch) => expectBatchContract(batch, pad, context.vocabSize));
    const modes: Record<UnilmMode, number> = { bidirectional: 0, seq2seq: 0, 'left-to-right': 0, 'right-to-left': 0 };
    let text = 0;
    let predicted = 0;
    let masked = 0;
    const pieces = segments.map((s) => {
      const n = s.tokens.length;
      const mode: UnilmMode =
        s.prefixEnd === n ? 'bidirectional' : s.prefixEnd > 0 ? 'seq2seq' : s.tokens[0] === eos ? 'right-to-left' : 'left-to-right';
      modes[mode]++;
      let sequence = s.tokens.map((id, i) => (s.lossMask[i] ? s.targets[i] : id));
      predicted += s.lossMask.reduce((a, m) => a + m, 0);
      masked += s.tokens.filter((id, i) => s.lossMask[i] && id === MASK).length;
      if (mode === 'right-to-left') sequence = sequence.reverse();
      if (mode === 'seq2seq' && sequence[s.prefixEnd - 1] !== eos) throw new Error('the source ends with eos');
      if (sequence[sequence.length - 1] !== eos) throw new Error('the example ends with eos');
      const piece = sequence.filter((_, i) => i !== sequence.length - 1 && !(mode === 'seq2seq' && i === s.prefixEnd - 1));
      text += piece.length;
      return piece;
    });
    expectPiecesFollowStream(pieces, sentences, 2);
    const n = segments.length;
    expect(Math.abs(modes.bidirectional / n - 1 / 3)).toBeLessThan(0.02);
    expect(Math.abs(modes.seq2seq / n - 1 / 3)).toBeLessThan(0.02);
    expect(Math.abs(modes['left-to-right'] / n - 1 / 6)).toBeLessThan(0.02);
    expect(Math.abs(modes['right-to-left'] / n - 1 / 6)).toBeLessThan(0.02);
    expect(Math.abs(predicted / text - 0.15)).toBeLessThan(0.01);
    expect(Math.abs(masked / predicted - 0.8)).toBeLessThan(0.02);
    console.info(`unilm: ${n} examples, ` + Object.entries(modes).map(([m, c]) => `${m} ${(c / n).toFixed(3)}`).join(', ') + `, predicted ${(predicted / text).toFixed(4)}, [MASK] ${(masked / predicted).toFixed(3)}`);
  });

  it('right-to-left reverses the example: each position sees the original text to its right', () => {
    const context = byteContext(unilm.specialTokens, { batchSize: 1, seqLen: 16, form: 'single-stack' });
    const config = unilm.configSchema.parse({ bidirectionalRate: 0, seq2seqRate: 0, leftToRightRate: 0, rightToLeftRate: 1 }, 'objective');
    const text = Int32Array.from(new TextEncoder().encode('abcdefghij'));
    const batch = unilm.createBatcher(config, context, arrayStream([text]), new Rng(2)).next();
    const restored = Array.from(batch.tokens.subarray(0, 11)).map((id, i) => (batch.lossMask[i] ? batch.targets[i] : id));
    expect(restored).toEqual([context.specialTokens.eos, ...Array.from(text).reverse()]);
    expect(Array.from(batch.positions.subarray(0, 11))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(Array.from(batch.prefixEnd.subarray(0, 11)).every((p) => p === 0)).toBe(true);
  });

  it('is deterministic under a seed and resumes exactly from state()', () => {
    expectResumesExactly(() => batcher(5).batcher);
  });
});

describe('unilm (encoder-decoder)', () => {
  it('over 10,000 examples: modes 1/3, 1/3, 1/6, 1/6 (±2%), 15% ± 1% of bidirectional text predicted, text comes back in every mode', () => {
    const { context, batcher: b } = encoderDecoderBatcher();
    const segments = collectSegments(b, 10_000, (batch) => expectBatchContract(batch, pad, context.vocabSize));
    const modes: Record<UnilmMode, number> = { bidirectional: 0, seq2seq: 0, 'left-to-right': 0, 'right-to-left': 0 };
    let bidirectionalText = 0;
    let predicted = 0;
    let masked = 0;
    const pieces = segments.map((s) => {
      const reading = readEncoderDecoder(s);
      modes[reading.mode]++;
      if (reading.mode === 'bidirectional') bidirectionalText += reading.piece.length;
      predicted += reading.predicted;
      masked += reading.masked;
      return reading.piece;
    });
    expectPiecesFollowStream(pieces, sentences, 2);
    const n = segments.length;
    const counts = b.counts();
    for (const mode of Object.keys(modes) as UnilmMode[]) expect(counts[`${mode}Examples`], mode).toBe(modes[mode]);
    expect(Math.abs(modes.bidirectional / n - 1 / 3)).toBeLessThan(0.02);
    expect(Math.abs(modes.seq2seq / n - 1 / 3)).toBeLessThan(0.02);
    expect(Math.abs(modes['left-to-right'] / n - 1 / 6)).toBeLessThan(0.02);
    expect(Math.abs(modes['right-to-left'] / n - 1 / 6)).toBeLessThan(0.02);
    expect(Math.abs(predicted / bidirectionalText - 0.15)).toBeLessThan(0.01);
    expect(Math.abs(masked / predicted - 0.8)).toBeLessThan(0.02);
    console.info(`unilm encoder-decoder: ${n} examples, ` + Object.entries(modes).map(([m, c]) => `${m} ${c} (${(c / n).toFixed(3)})`).join(', ') + `, predicted ${(predicted / bidirectionalText).toFixed(4)} of ${bidirectionalText} bidirectional tokens, [MASK] ${(masked / predicted).toFixed(3)}`);
  });

  it('lays out each mode as documented, on one real sentence', () => {
    const text = Array.from(utf8Tokens('The abundant fruits of another year have blessed our country with plenty.'));
    const only = (mode: UnilmMode) => {
      const rates = { bidirectionalRate: 0, seq2seqRate: 0, leftToRightRate: 0, rightToLeftRate: 0, [RATE_FIELDS[mode]]: 1 };
      const context = byteContext(unilm.specialTokens, { batchSize: 1, seqLen: 128, encoderLen: 128, form: 'encoder-decoder' });
      const [first] = segmentsOf(unilm.createBatcher(unilm.configSchema.parse(rates, 'objective'), context, arrayStream([Int32Array.from(text)]), new Rng(1)).next());
      return first;
    };
    const reversed = [...text].reverse();
    const left = only('left-to-right');
    expect(left.encoderTokens).toEqual([eos]);
    expect(left.tokens).toEqual([pad, ...text]);
    expect(left.predicted).toEqual([...text, eos]);
    const right = only('right-to-left');
    expect(right.encoderTokens).toEqual([eos]);
    expect(right.tokens).toEqual([eos, ...reversed]);
    expect(right.predicted).toEqual([...reversed, eos]);
    const bidirectional = only('bidirectional');
    const chosen = bidirectional.lossMask.flatMap((m, i) => (m ? [i] : []));
    expect(chosen.length).toBe(Math.round(0.15 * text.length));
    expect(bidirectional.tokens).toEqual([pad, ...text]);
    expect(bidirectional.predicted).toEqual(chosen.map((i) => text[i]));
    expect(bidirectional.encoderTokens.flatMap((id, i) => (id !== [...text, eos][i] ? [i] : [])).every((i) => chosen.includes(i))).toBe(true);
    const seq2seq = only('seq2seq');
    expect(seq2seq.tokens[0]).toBe(pad);
    expect([...seq2seq.encoderTokens.slice(0, -1), ...seq2seq.predicted.slice(0, -1)]).toEqual(text);
  });

  it('short documents: 1-token and empty ones are skipped and counted, 2- and 3-token ones come back in every mode', () => {
    const tiny = ['I', 'Go', 'Yes', '', 'No.', 'A'].map(utf8Tokens);
    const { context, batcher: b } = encoderDecoderBatcher(3, tiny, 32);
    const segments: PackedSegment[] = [];
    for (let i = 0; i < 20; i++) {
      const batch = b.next();
      expectBatchContract(batch, context.specialTokens.pad, context.vocabSize);
      segments.push(...segmentsOf(batch));
    }
    const modes = new Set<UnilmMode>();
    const pieces = segments.map((s) => {
      const reading = readEncoderDecoder(s);
      modes.add(reading.mode);
      if (reading.mode === 'bidirectional') expect(reading.predicted).toBe(1);
      return reading.piece;
    });
    expect(modes.size).toBe(4);
    expectPiecesFollowStream(pieces, tiny, 2);
    const counts = b.counts();
    expect(counts.skippedEmptyDocuments).toBeGreaterThan(0);
    expect(counts.skippedShortPieces).toBeGreaterThan(0);
    // A corpus of nothing but 1-token documents stops with an error instead of looping.
    const ones = encoderDecoderBatcher(3, [utf8Tokens('I')], 32).batcher;
    expect(() => ones.next()).toThrow('unilm: 100000 document pieces in a row were shorter than 2 tokens');
  });

  it('is deterministic under a seed and resumes exactly from state()', () => {
    expect(collectSegments(encoderDecoderBatcher(5).batcher, 60)).toEqual(collectSegments(encoderDecoderBatcher(5).batcher, 60));
    expect(collectSegments(encoderDecoderBatcher(5).batcher, 60)).not.toEqual(collectSegments(encoderDecoderBatcher(6).batcher, 60));
    expectResumesExactly(() => encoderDecoderBatcher(5).batcher);
  });
});
