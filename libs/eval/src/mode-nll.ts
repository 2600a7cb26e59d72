import type { TextDocument } from '@unilab/data';
import { INFILLING_NOISE, infillingSpans, describeInfillingFormat, pieceRng, scoreInfilling } from './infilling.ts';
import type { RowScoringOptions } from './row-log-probs.ts';
import { describeContinuationFormat, scoreTargets, type ContinuationTask, type ScoringModel } from './scoring.ts';
import { bootstrapRatio, type BootstrapOptions, type Estimate } from './stats/bootstrap.ts';
import { tokenBytes } from './token-bytes.ts';

/** UL2's three modes of use (Tay et al. 2022, §3.1.2-3.1.3), each measured the way the model supports it. */
export type EvalMode = 'lm' | 'infilling' | 'seq2seq';
export const EVAL_MODES: readonly EvalMode[] = ['lm', 'infilling', 'seq2seq'];

export interface ModeNll {
  mode: EvalMode;
  /** How the model read the pieces. */
  format: string;
  /** What the mode asks: which part of each piece is input and which is scored. */
  task: string;
  natsPerToken: Estimate;
  bitsPerByte: Estimate;
  /** Chance: a model uniform over the vocabulary, ln(vocab) nats per token. */
  uniformNatsPerToken: number;
  documents: number;
  pieces: number;
  tokens: number;
  bytes: number;
}

export interface ModeNllOptions extends RowScoringOptions, BootstrapOptions {
  /** Tokens per piece (default: three quarters of the model's training length, room for every layout's extra tokens). */
  pieceTokens?: number;
  /** Pieces taken from each document, from its start, without overlap (default 2). */
  piecesPerDocument?: number;
  /** Seed of the infilling spans (default 0): every model with the same tokenizer gets the same spans. */
  spanSeed?: number;
}

/** UL2's S-denoiser target fraction (Tay et al. 2022, Table 1: S with r = 0.25): the seq2seq mode's split. */
export const SEQ2SEQ_TARGET_FRACTION = 0.25;

/**
 * Mode-wise NLL on held-out documents, all three modes on the same pieces of text:
 * - lm: the first half of a piece is the input, the second half is scored (the LM layout: causal where trained);
 * - infilling: 15% of the piece in spans of mean 3 (T5's noise) is masked and scored (sentinels, GLM blanks, a cloze,
 *   or for a model that never filled spans, each span from its left context);
 * - seq2seq: the last quarter is scored given the first three quarters (the seq2seq layout: bidirectional input where
 *   trained, UL2's [S2S]).
 * Per-token NLL (nats) and bits per byte, each with a per-document bootstrap interval.
 */
export async function modeNll(model: ScoringModel, documents: readonly TextDocument[], modes: readonly EvalMode[] = EVAL_MODES, options: ModeNllOptions = {}): Promise<ModeNll[]> {
  const pieceTokens = options.pieceTokens ?? Math.floor((model.seqLen * 3) / 4);
  const perDocument = options.piecesPerDocument ?? 2;
  if (!Number.isInteger(pieceTokens) || pieceTokens < 4) throw new Error(`modeNll: pieceTokens must be an integer >= 4, got ${pieceTokens}`);
  if (!Number.isInteger(perDocument) || perDocument < 1) throw new Error(`modeNll: piecesPerDocument must be an integer >= 1, got ${perDocument}`);
  const pieces = documents.flatMap((d, doc) => {
    const tokens = Array.from(model.tokenizer.encode(d.text));
    const count = Math.min(perDocument, Math.floor(tokens.length / pieceTokens));
    return Array.from({ length: count }, (_, k) => ({ doc, id: d.id, index: k, tokens: tokens.slice(k * pieceTokens, (k + 1) * pieceTokens) }));
  });
  if (pieces.length === 0) throw new Error(`modeNll: no document holds a piece of ${pieceTokens} tokens`);
  const out: ModeNll[] = [];
  for (const mode of modes) {
    const perPiece = await scorePieces(model, mode, pieces, pieceTokens, options);
    const byDoc = new Map<number, { nats: number; tokens: number; bytes: number }>();
    perPiece.forEach((score, i) => {
      const d = byDoc.get(pieces[i].doc) ?? { nats: 0, tokens: 0, bytes: 0 };
      d.nats += score.nats;
      d.tokens += score.tokens;
      d.bytes += score.bytes;
      byDoc.set(pieces[i].doc, d);
    });
    const docs = [...byDoc.values()];
    out.push({
      mode,
      format: mode === 'infilling' ? describeInfillingFormat(model) : describeContinuationFormat(model, mode),
      task: describeTask(mode, pieceTokens),
      natsPerToken: bootstrapRatio(docs.map((d) => d.nats), docs.map((d) => d.tokens), options),
      bitsPerByte: bootstrapRatio(docs.map((d) => d.nats / Math.LN2), docs.map((d) => d.bytes), options),
      uniformNatsPerToken: Math.log(model.tokenizer.vocabSize),
      documents: docs.length,
      pieces: pieces.length,
      tokens: docs.reduce((s, d) => s + d.tokens, 0),
      bytes: docs.reduce((s, d) => s + d.bytes, 0),
    });
  }
  return out;
}

function describeTask(mode: EvalMode, pieceTokens: number): string {
  const split = seq2seqSplit(pieceTokens);
  if (mode === 'lm') return `${pieceTokens}-token pieces: the first ${Math.floor(pieceTokens / 2)} tokens in, the rest scored`;
  if (mode === 'seq2seq') return `${pieceTokens}-token pieces: the first ${split} tokens in, the last ${pieceTokens - split} scored`;
  return `${pieceTokens}-token pieces: ${INFILLING_NOISE.noiseDensity * 100}% of the tokens (after the first) in spans of mean length ${INFILLING_NOISE.meanSpanLength} masked and scored`;
}
const seq2seqSplit = (n: number) => n - Math.max(1, Math.round(n * SEQ2SEQ_TARGET_FRACTION));

async function scorePieces(
  model: ScoringModel,
  mode: EvalMode,
  pieces: readonly { id: string; index: number; tokens: number[] }[],
  pieceTokens: number,
  options: ModeNllOptions,
): Promise<{ nats: number; tokens: number; bytes: number }[]> {
  if (mode === 'infilling') {
    const withSpans = pieces.map((p) => ({ tokens: p.tokens, spans: infillingSpans(p.tokens.length, pieceRng(options.spanSeed ?? 0, p.id, p.index)) }));
    const scores = await scoreInfilling(model, withSpans, options);
    return scores.map((s) => ({ nats: -s.tokenLogProbs.reduce((a, b) => a + b, 0), tokens: s.tokenLogProbs.length, bytes: tokenBytes(model.tokenizer, s.spanTokens) }));
  }
  const split = mode === 'lm' ? Math.floor(pieceTokens / 2) : seq2seqSplit(pieceTokens);
  const task: ContinuationTask = mode;
  const requests = pieces.map((p) => ({ input: p.tokens.slice(0, split), target: p.tokens.slice(split) }));
  const scores = await scoreTargets(model, task, requests, options);
  return scores.map((s, i) => {
    if (s.droppedInput > 0) throw new Error(`modeNll: a ${pieceTokens}-token piece does not fit the model's ${mode} layout whole (${s.droppedInput} input tokens cut); use shorter pieces`);
    return { nats: -s.logProb, tokens: s.tokens, bytes: tokenBytes(model.tokenizer, requests[i].target) };
  });
}
