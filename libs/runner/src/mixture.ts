import { Rng, type Tokenizer } from '@unilab/core';
import { DEFAULT_MAX_DOCUMENT_BYTES, unigramEntropy } from '@unilab/data';
import { prepareData, type PreparedData } from './data.ts';

export interface MixtureComponent {
  corpus: string;
  /** Relative share of the training tokens (normalised over the mixture). */
  weight: number;
}

/**
 * A data mixture with token rates, seqio-style: every corpus is split and tokenized on its own, then the training
 * documents are drawn so that corpus i supplies weight_i / Σweight of the training tokens (small corpora repeat,
 * large ones are subsampled, in a seeded order). The total stays the sum of the corpora's tokens. Held-out documents
 * of every corpus are kept whole, so evaluation covers each source.
 */
export async function prepareMixture(
  components: readonly MixtureComponent[],
  heldOutFraction: number,
  tokenizer: Tokenizer,
  seed: number,
  maxDocumentBytes = DEFAULT_MAX_DOCUMENT_BYTES,
): Promise<PreparedData> {
  const parts = await Promise.all(components.map((c) => prepareData(c.corpus, heldOutFraction, tokenizer, maxDocumentBytes)));
  const totalWeight = components.reduce((s, c) => s + c.weight, 0);
  const totalTokens = parts.reduce((s, p) => s + p.trainTokens, 0);
  const rng = new Rng(seed);
  const train: Int32Array[] = [];
  parts.forEach((part, i) => {
    const target = (components[i].weight / totalWeight) * totalTokens;
    const order = rng.shuffle(Array.from({ length: part.train.length }, (_, i) => i));
    for (let taken = 0, k = 0; taken < target && part.train.length > 0; k++) {
      const doc = part.train[order[k % order.length]];
      train.push(doc);
      taken += doc.length;
    }
  });
  const heldOut = parts.flatMap((p) => p.heldOut);
  const count = (l: Int32Array[]) => l.reduce((n, d) => n + d.length, 0);
  return {
    train,
    heldOut,
    trainTokens: count(train),
    heldOutTokens: count(heldOut),
    unigramEntropy: unigramEntropy(train, tokenizer.vocabSize),
    dropped: mergeCounts(parts.map((p) => p.dropped)),
    problems: parts.flatMap((p, i) => p.problems.map((problem) => ({ ...problem, file: `${components[i].corpus}: ${problem.file}` }))),
  };
}

function mergeCounts(counts: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of counts) for (const [k, n] of Object.entries(c)) out[k] = (out[k] ?? 0) + n;
  return out;
}
