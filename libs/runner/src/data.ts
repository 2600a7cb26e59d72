import type { Tokenizer } from '@unilab/core';
import { readCorpus, splitHeldOut, unigramEntropy } from '@unilab/data';

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
