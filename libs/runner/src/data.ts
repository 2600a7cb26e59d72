import type { DocumentStream, Tokenizer } from '@unilab/core';
import { DEFAULT_MAX_DOCUMENT_BYTES, createDocumentStream, openStreamedShardDataset, readCorpusText, splitHeldOut, unigramEntropy, type ReadProblem } from '@unilab/data';

/** What a training run reads: endless document streams, and the counts it reports. */
export interface TrainingData {
  trainTokens: number;
  heldOutTokens: number;
  /** Unigram entropy of the training tokens (nats): the loss to beat. */
  unigramEntropy: number;
  /** A fresh stream of the training documents, shuffled by seed. */
  trainStream(seed: number): DocumentStream;
  /** A fresh stream of the held-out documents, or null when none are held out. */
  heldOutStream(seed: number): DocumentStream | null;
}

/** Documents held in memory (a corpus or a mixture of corpora, tokenized). */
export interface PreparedData {
  train: Int32Array[];
  heldOut: Int32Array[];
  trainTokens: number;
  heldOutTokens: number;
  /** Unigram entropy of the training tokens (nats): the loss to beat. */
  unigramEntropy: number;
  /** Records the corpus reader dropped or refused, by reason (empty when none). */
  dropped: Record<string, number>;
  /** The first of them, with file (relative to the corpus) and line. */
  problems: ReadProblem[];
}

/**
 * Read, split and tokenize a corpus with the validated reader `unilab data` uses: bad files and records are dropped
 * and reported (the returned `dropped` and `problems`), not fatal; a corpus with no text left is an error that says why.
 */
export async function prepareData(
  corpus: string,
  heldOutFraction: number,
  tokenizer: Tokenizer,
  maxDocumentBytes = DEFAULT_MAX_DOCUMENT_BYTES,
): Promise<PreparedData> {
  const { documents: docs, problems, dropped } = await readCorpusText(corpus, { maxDocumentBytes });
  if (docs.length === 0) {
    const why = problems.slice(0, 3).map((p) => `${p.file}${p.line > 0 ? `:${p.line}` : ''}: ${p.message}`);
    throw new Error(`corpus ${corpus} holds no text${why.length > 0 ? ` (${why.join('; ')})` : ''}`);
  }
  const { train, heldOut } = splitHeldOut(docs, heldOutFraction);
  const encode = (list: typeof docs) => list.map((d) => tokenizer.encode(d.text));
  const trainIds = encode(train);
  const heldOutIds = encode(heldOut);
  const count = (l: Int32Array[]) => l.reduce((n, d) => n + d.length, 0);
  return {
    train: trainIds,
    heldOut: heldOutIds,
    trainTokens: count(trainIds),
    heldOutTokens: count(heldOutIds),
    unigramEntropy: unigramEntropy(trainIds, tokenizer.vocabSize),
    dropped,
    problems,
  };
}

/** In-memory documents as streams: each epoch in an order shuffled by (seed, epoch). */
export function inMemoryData(data: PreparedData): TrainingData {
  return {
    trainTokens: data.trainTokens,
    heldOutTokens: data.heldOutTokens,
    unigramEntropy: data.unigramEntropy,
    trainStream: (seed) => createDocumentStream(data.train, seed),
    heldOutStream: (seed) => (data.heldOut.length > 0 ? createDocumentStream(data.heldOut, seed) : null),
  };
}

/** Training data streamed from a dataset prepared by `unilab data`, and the tokenizer that made it. */
export interface ShardData extends TrainingData {
  tokenizer: Tokenizer;
}

/**
 * Open a prepared dataset (index.json, shards, tokenizer.json) for streaming: one pass checks every shard and counts
 * the split (documents are held out by a hash of their index), then each stream reads the shards lazily and holds at
 * most `windowBytes` of documents. Also checks that the tokenizer has the special tokens the objective (every component of a mixture) needs.
 */
export async function prepareShardData(dir: string, heldOutFraction: number, specialTokens: readonly string[], windowBytes: number): Promise<ShardData> {
  const dataset = await openStreamedShardDataset(dir, { heldOutFraction });
  const missing = specialTokens.filter((s) => dataset.tokenizer.specialTokens[s] === undefined);
  if (missing.length > 0)
    throw new Error(
      `dataset ${dir}: its tokenizer lacks the special tokens ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''} that the objective (or a component of its mixture) needs; ` +
        'prepare it again with the objective listed in the pipeline\'s tokenizer.objectives',
    );
  const { train, heldOut, unigramEntropy } = dataset.scan;
  if (train.documents + heldOut.documents === 0) throw new Error(`dataset ${dir} holds no documents`);
  return {
    tokenizer: dataset.tokenizer,
    trainTokens: train.tokens,
    heldOutTokens: heldOut.tokens,
    unigramEntropy,
    trainStream: (seed) => dataset.stream('train', seed, windowBytes),
    heldOutStream: (seed) => (heldOut.documents > 0 ? dataset.stream('heldOut', seed, windowBytes) : null),
  };
}
