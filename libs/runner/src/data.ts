import type { Tokenizer } from '@unilab/core';
import { fnv1a, readCorpus, readShardDataset, splitHeldOut, unigramEntropy } from '@unilab/data';

export interface PreparedData {
  train: Int32Array[];
  heldOut: Int32Array[];
  trainTokens: number;
  heldOutTokens: number;
  /** Unigram entropy of the training tokens (nats): the loss to beat. */
  unigramEntropy: number;
}

/** Read, split and tokenize a corpus. Empty documents are dropped; an empty corpus is an error. */
export async function prepareData(corpus: string, heldOutFraction: number, tokenizer: Tokenizer): Promise<PreparedData> {
  const docs = (await readCorpus(corpus)).filter((d) => d.text.trim().length > 0);
  if (docs.length === 0) throw new Error(`corpus ${corpus} holds no text`);
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
  };
}

/** Training data read from a dataset prepared by `unilab data`: its documents and the tokenizer that made them. */
export interface ShardData extends PreparedData {
  tokenizer: Tokenizer;
}

/**
 * Read a prepared dataset (index.json, shards, tokenizer.json), hold out documents by a hash of their index, and
 * check that the dataset's tokenizer has the special tokens the objective needs.
 */
export async function prepareShardData(dir: string, heldOutFraction: number, specialTokens: readonly string[]): Promise<ShardData> {
  const dataset = await readShardDataset(dir);
  const missing = specialTokens.filter((s) => dataset.tokenizer.specialTokens[s] === undefined);
  if (missing.length > 0)
    throw new Error(
      `dataset ${dir}: its tokenizer lacks the special tokens ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''} that the objective needs; ` +
        'prepare it again with the objective listed in the pipeline\'s tokenizer.objectives',
    );
  const docs = dataset.documents.filter((d) => d.length > 0);
  if (docs.length === 0) throw new Error(`dataset ${dir} holds no documents`);
  const train: Int32Array[] = [];
  const heldOut: Int32Array[] = [];
  docs.forEach((d, i) => (fnv1a(`doc-${i}`) / 4294967296 < heldOutFraction ? heldOut : train).push(d));
  if (heldOutFraction > 0 && heldOut.length === 0 && train.length > 1) heldOut.push(train.pop()!);
  const count = (l: Int32Array[]) => l.reduce((n, d) => n + d.length, 0);
  return {
    tokenizer: dataset.tokenizer,
    train,
    heldOut,
    trainTokens: count(train),
    heldOutTokens: count(heldOut),
    unigramEntropy: unigramEntropy(train, dataset.tokenizer.vocabSize),
  };
}
