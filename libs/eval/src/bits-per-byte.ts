import type { RowScoringOptions } from './row-log-probs.ts';
import { scoreTargets, describeContinuationFormat, type ScoringModel, type TokenScoringRequest } from './scoring.ts';
import { bootstrapRatio, type BootstrapOptions, type Estimate } from './stats/bootstrap.ts';
import { utf8Length, type EvalDomain } from './corpora/held-out-domains.ts';
import { tokenBytes } from './token-bytes.ts';

/** The negative log-likelihood of one document's scored text. */
export interface DocumentNll {
  id: string;
  /** Total NLL of the scored tokens, nats. */
  nats: number;
  /** Tokens scored (every token but the first). */
  tokens: number;
  /** UTF-8 bytes of the scored tokens. */
  bytes: number;
}

export interface BitsPerByteOptions extends RowScoringOptions {
  /** Tokens scored per window (default: half the model's training length). */
  chunkTokens?: number;
}

/**
 * NLL of a document in the model's LM layout, window by window: each chunk of `chunkTokens` tokens is the target,
 * the up to `chunkTokens` tokens before it are the input (the encoder of an encoder-decoder reads the previous
 * window, its decoder scores the next chunk; a decoder reads both causally; a prefix LM reads the window
 * bidirectionally). Every architecture gets the same context per token, so the figures compare. The first token of a
 * document is context only: a causal model never learned to predict it, and no layout may be favoured by scoring it.
 */
export async function documentNll(model: ScoringModel, id: string, text: string, options: BitsPerByteOptions = {}): Promise<DocumentNll> {
  const tokens = Array.from(model.tokenizer.encode(text));
  if (tokens.length < 2) return { id, nats: 0, tokens: 0, bytes: 0 };
  const chunk = options.chunkTokens ?? Math.max(1, Math.floor(model.seqLen / 2));
  if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`documentNll: chunkTokens must be an integer >= 1, got ${chunk}`);
  const requests: TokenScoringRequest[] = [];
  for (let start = 1; start < tokens.length; start += chunk)
    requests.push({ input: tokens.slice(Math.max(0, start - chunk), start), target: tokens.slice(start, start + chunk) });
  const scores = await scoreTargets(model, 'lm', requests, options);
  const nats = -scores.reduce((s, x) => s + x.logProb, 0);
  // Tokenizer-independent: the bytes of the text after its first token.
  const bytes = utf8Length(text) - tokenBytes(model.tokenizer, tokens.slice(0, 1));
  return { id, nats, tokens: tokens.length - 1, bytes };
}

/** Bits per byte of one domain, with its per-document bootstrap interval, and the same as nats per token. */
export interface DomainBitsPerByte {
  domain: string;
  bitsPerByte: Estimate;
  natsPerToken: Estimate;
  /** Chance: a model uniform over the vocabulary, tokens × log2(vocab) / bytes. */
  uniformBitsPerByte: number;
  documents: number;
  tokens: number;
  bytes: number;
  provenance: string;
}

export interface BitsPerByteReport {
  /** How the model read its windows (its LM layout). */
  format: string;
  chunkTokens: number;
  domains: DomainBitsPerByte[];
}

/**
 * Bits per byte, Σ NLL / (ln 2 · Σ bytes), per domain (Gao et al. 2020, The Pile §4: tokenizer-independent, so a
 * byte-level and a BPE model compare). The interval resamples documents.
 */
export async function bitsPerByte(model: ScoringModel, domains: readonly EvalDomain[], options: BitsPerByteOptions & BootstrapOptions = {}): Promise<BitsPerByteReport> {
  const chunkTokens = options.chunkTokens ?? Math.max(1, Math.floor(model.seqLen / 2));
  const out: DomainBitsPerByte[] = [];
  for (const domain of domains) {
    const docs: DocumentNll[] = [];
    for (const d of domain.documents) {
      const nll = await documentNll(model, d.id, d.text, { ...options, chunkTokens });
      if (nll.tokens > 0) docs.push(nll);
    }
    if (docs.length === 0) continue;
    const tokens = docs.reduce((s, d) => s + d.tokens, 0);
    const bytes = docs.reduce((s, d) => s + d.bytes, 0);
    out.push({
      domain: domain.name,
      bitsPerByte: bootstrapRatio(docs.map((d) => d.nats / Math.LN2), docs.map((d) => d.bytes), options),
      natsPerToken: bootstrapRatio(docs.map((d) => d.nats), docs.map((d) => d.tokens), options),
      uniformBitsPerByte: (tokens * Math.log2(model.tokenizer.vocabSize)) / bytes,
      documents: docs.length,
      tokens,
      bytes,
      provenance: domain.provenance,
    });
  }
  return { format: describeContinuationFormat(model, 'lm'), chunkTokens, domains: out };
}
