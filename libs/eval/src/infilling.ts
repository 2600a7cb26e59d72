import { Rng, type InfillingLayout } from '@unilab/core';
import { fnv1a } from '@unilab/data';
import { blankInfillingExample, sampleNoiseSpans, sentinelTokenNames, spanCorruptionPair, type NoiseSpan } from '@unilab/plugins-objective';
import { describeLayout, type InferenceRow, type Presented } from '@unilab/runner';
import { rowLogProbs, type RowScoringOptions, type TokenQuery } from './row-log-probs.ts';
import { scoreTargets, describeContinuationFormat, type ScoringModel } from './scoring.ts';

/** T5's default corruption (Raffel et al. 2020, §3.1.4): 15% of the tokens in spans of mean length 3. */
export const INFILLING_NOISE = { noiseDensity: 0.15, meanSpanLength: 3 } as const;

/** The spans to fill in a piece, drawn over positions 1.. so that every layout (even a causal one) has context. */
export function infillingSpans(length: number, rng: Rng): NoiseSpan[] {
  if (length < 3) throw new Error(`infillingSpans: a piece of ${length} tokens is too short to corrupt (needs 3)`);
  return sampleNoiseSpans(length - 1, INFILLING_NOISE, rng).map((s) => ({ start: s.start + 1, end: s.end + 1 }));
}

/** Log-probabilities of the span tokens of one piece, in text order, and how they were scored. */
export interface InfillingScore {
  tokenLogProbs: number[];
  /** The span tokens, in text order. */
  spanTokens: number[];
}

/** How a model fills spans: its objective's infilling layout, or the left-context fallback. */
export function describeInfillingFormat(model: ScoringModel): string {
  return model.presentation.infilling
    ? describeLayout(model.presentation.infilling)
    : `left context only (the objective trained no infilling): each span scored as a continuation of the text before it, ${describeContinuationFormat(model, 'lm')}`;
}

/**
 * Score the spans of each piece the way the model's objective fills spans (inference-layout.ts): T5 sentinels,
 * GLM blanks in text order, or a cloze of [MASK] tokens. A model whose objectives never filled spans (CLM, prefix LM)
 * scores each span from the text to its left only, with its LM layout — the reading a causal model allows.
 */
export async function scoreInfilling(
  model: ScoringModel,
  pieces: readonly { tokens: readonly number[]; spans: readonly NoiseSpan[] }[],
  options: RowScoringOptions = {},
): Promise<InfillingScore[]> {
  const layout = model.presentation.infilling;
  const spanTokens = pieces.map((p) => p.spans.flatMap((s) => p.tokens.slice(s.start, s.end)));
  if (!layout) {
    const requests = pieces.flatMap((p) => p.spans.map((s) => ({ input: p.tokens.slice(0, s.start), target: p.tokens.slice(s.start, s.end) })));
    const scores = await scoreTargets(model, 'lm', requests, options);
    let next = 0;
    return pieces.map((p, i) => ({ tokenLogProbs: p.spans.flatMap(() => scores[next++].tokenLogProbs), spanTokens: spanTokens[i] }));
  }
  const laid = pieces.map((p) => infillingRow(model, layout, p.tokens, p.spans));
  for (const [i, row] of laid.entries()) {
    const longest = Math.max(row.row.tokens.length, row.row.encoderTokens?.length ?? 0);
    if (longest > model.seqLen) throw new Error(`infilling piece ${i}: its ${layout.layout.kind} layout takes ${longest} tokens, over the model's length ${model.seqLen}; use shorter pieces`);
  }
  const scored = await rowLogProbs(model, laid.map((l) => l.row), laid.map((l) => l.queries), options);
  return scored.map((tokens, i) => ({ tokenLogProbs: tokens.map((t) => t.logProb), spanTokens: spanTokens[i] }));
}

/** One piece laid out for infilling, with a query for each span token in text order. */
function infillingRow(model: ScoringModel, presented: Presented<InfillingLayout>, piece: readonly number[], spans: readonly NoiseSpan[]): { row: InferenceRow; queries: TokenQuery[] } {
  const { layout, ids } = presented;
  const encoderDecoder = model.presentation.consumes.form === 'encoder-decoder';
  const counting = (n: number) => Array.from({ length: n }, (_, i) => i);
  switch (layout.kind) {
    case 'sentinels': {
      const sentinels = sentinelTokenNames.map((name) => model.tokenizer.specialTokens[name]);
      const { inputs, targets } = spanCorruptionPair(piece, spans, sentinels, ids.eos, layout.inputPrefix.map((n) => ids[n]));
      // Targets are <s0> span0 <s1> span1 ... </s>: the span tokens are every target but sentinels and eos.
      const scored = new Set<number>();
      let at = 0;
      for (const span of spans) {
        at++;
        for (let k = span.start; k < span.end; k++) scored.add(at++);
      }
      const offset = encoderDecoder ? 0 : inputs.length - 1;
      const queries = [...scored].map((k) => ({ position: offset + k, token: targets[k] }));
      if (encoderDecoder) {
        const tokens = [ids.pad, ...targets.slice(0, -1)];
        return { row: { tokens, positions: counting(tokens.length), prefixEnd: 0, encoderTokens: inputs }, queries };
      }
      const tokens = [...inputs, ...targets.slice(0, -1)];
      return { row: { tokens, positions: counting(tokens.length), prefixEnd: inputs.length }, queries };
    }
    case 'blanks': {
      const order = spans.map((_, i) => i);
      const example = blankInfillingExample(piece, spans, order, { mask: ids[layout.mask], sop: ids.sop, eop: ids.eop });
      const queries = example.tokens.flatMap((_, i) => (example.lossMask[i] === 1 && example.targets[i] !== ids.eop ? [{ position: i, token: example.targets[i] }] : []));
      return { row: { tokens: example.tokens, positions: example.positions, blockPositions: example.blockPositions, prefixEnd: example.prefixEnd }, queries };
    }
    case 'cloze': {
      const masked = [...piece];
      const queries: TokenQuery[] = [];
      for (const span of spans)
        for (let i = span.start; i < span.end; i++) {
          masked[i] = ids[layout.mask];
          queries.push({ position: i, token: piece[i] });
        }
      if (encoderDecoder) {
        const tokens = [ids.pad, ...piece.slice(0, -1)];
        return { row: { tokens, positions: counting(tokens.length), prefixEnd: 0, encoderTokens: [...masked, ids.eos] }, queries };
      }
      return { row: { tokens: masked, positions: counting(masked.length), prefixEnd: masked.length }, queries };
    }
  }
}

/** A seeded RNG for a piece: the same spans for every model that reads the same tokens. */
export function pieceRng(seed: number, documentId: string, piece: number): Rng {
  return new Rng((seed ^ fnv1a(`${documentId}#${piece}`)) >>> 0);
}
