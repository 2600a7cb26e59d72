import { field, integer, number, object, string, SpecError, type DataStagePlugin, type PipelineDocument } from '@unilab/core';
import { readBundled, BUNDLED_SOURCES, type BundledSource } from '../readers/bundled.ts';
import { readFiles } from '../readers/text-files.ts';
import { fnv1a } from '../split.ts';
import { MAX_NGRAM_ORDER, trainByteNgramModel, type ByteNgramModel } from './byte-ngram-model.ts';

/**
 * Model-based quality filtering as in CCNet (Wenzek et al. 2020, "CCNet: Extracting High Quality Monolingual Datasets
 * from Web Crawl Data", §3.3): score each document by its perplexity under a language model of a reference corpus
 * and keep a percentile band. CCNet trains a 5-gram KenLM on Wikipedia and splits documents into head / middle / tail
 * terciles; here a byte 5-gram model (Witten-Bell) is trained on a bundled corpus or .txt files, and the band's
 * perplexity cut-offs are the percentiles of held-out reference documents (every document whose id hashes into the
 * held-out tenth), so the decision for one document never depends on the others and the stage streams.
 * The default band keeps documents up to the 95th percentile: text about as fluent as the reference, dropping noise.
 */
export const perplexityConfigSchema = object({
  /** "sotu", "brown", "udhr" or a path to .txt files. */
  reference: field(string({ nonEmpty: true }), 'brown'),
  order: field(integer({ min: 1, max: MAX_NGRAM_ORDER }), 5),
  /** Keep documents whose perplexity lies between these percentiles (0..100) of the held-out reference documents. */
  keepFromPercentile: field(number({ min: 0, max: 100 }), 0),
  keepToPercentile: field(number({ min: 0, max: 100 }), 95),
  /** Reference bytes used for training (the model's memory grows with it). */
  maxReferenceBytes: field(integer({ min: 1024 }), 8 << 20),
  /** Bytes of each document scored. */
  maxChars: field(integer({ min: 64 }), 20_000),
});
export type PerplexityConfig = ReturnType<typeof perplexityConfigSchema.parse>;

export interface ReferenceModel {
  model: ByteNgramModel;
  /** Perplexities of the held-out reference documents, ascending. */
  calibration: number[];
}

const encoder = new TextEncoder();

export async function trainReferenceModel(config: PerplexityConfig): Promise<ReferenceModel> {
  const train: Uint8Array[] = [];
  const heldOut: Uint8Array[] = [];
  let bytes = 0;
  const items = (BUNDLED_SOURCES as readonly string[]).includes(config.reference)
    ? readBundled(config.reference as BundledSource, 'reference')
    : readFiles(config.reference, { source: 'reference', format: 'txt', maxDocumentBytes: 64 << 20 });
  for await (const item of items) {
    if (!('document' in item)) continue;
    const doc = encoder.encode(item.document.text.slice(0, config.maxChars));
    if (fnv1a(item.document.id) % 10 === 0) heldOut.push(doc);
    else if (bytes < config.maxReferenceBytes) {
      train.push(doc);
      bytes += doc.length;
    }
  }
  if (train.length === 0 || heldOut.length < 2)
    throw new Error(`perplexity reference ${config.reference} is too small: ${train.length} training and ${heldOut.length} held-out documents`);
  const model = trainByteNgramModel(train, config.order);
  return { model, calibration: heldOut.map((d) => model.perplexity(d)).sort((a, b) => a - b) };
}

/** The p-th percentile (0..100) of ascending values, linearly interpolated. */
export function percentile(sorted: readonly number[], p: number): number {
  if (p <= 0) return 0;
  if (p >= 100) return Infinity;
  const x = (p / 100) * (sorted.length - 1);
  const i = Math.floor(x);
  return i + 1 < sorted.length ? sorted[i] + (x - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
}

export const perplexityFilterStage: DataStagePlugin<PerplexityConfig> = {
  kind: 'data-stage',
  name: 'perplexity',
  description: 'CCNet-style filter: perplexity under a byte 5-gram model of a reference corpus, keep a percentile band',
  configSchema: {
    describe: perplexityConfigSchema.describe,
    parse(value, path) {
      const c = perplexityConfigSchema.parse(value, path);
      if (c.keepFromPercentile >= c.keepToPercentile)
        throw new SpecError(`${path}.keepFromPercentile`, `must be below keepToPercentile (${c.keepToPercentile})`);
      return c;
    },
  },
  async create(config) {
    const { model, calibration } = await trainReferenceModel(config);
    const low = percentile(calibration, config.keepFromPercentile);
    const high = percentile(calibration, config.keepToPercentile);
    return {
      process(doc: PipelineDocument) {
        const ppl = model.perplexity(encoder.encode(doc.text.slice(0, config.maxChars)));
        if (ppl < low) return { keep: false, reason: 'perplexity_below_band' };
        if (ppl > high) return { keep: false, reason: 'perplexity_above_band' };
        return { keep: true };
      },
      summary: () => ({ low_cutoff: Number(low.toFixed(3)), high_cutoff: Number(high.toFixed(3)) }),
    };
  },
};
