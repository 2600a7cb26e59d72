/** Entropy (nats) of the unigram distribution of the tokens: the loss of a model that ignores context. */
export function unigramEntropy(documents: readonly Int32Array[], vocabSize: number): number {
  const counts = new Float64Array(vocabSize);
  for (const d of documents) for (const t of d) counts[t]++;
  return entropyOfCounts(counts);
}

/** Entropy (nats) of the distribution that per-token counts describe. */
export function entropyOfCounts(counts: Float64Array): number {
  let total = 0;
  for (const c of counts) total += c;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / total) * Math.log(c / total);
  return h;
}
