import { writeFile } from 'node:fs/promises';
import { attentionSpectra, loadModel, prepareData, singleExampleBatch, summariseRanks, type HeadSpectrum } from '@unilab/runner';
import { numberOption, parseArgs } from '../args.ts';
import { registryFromArgs } from '../plugin-registry.ts';

const USAGE = 'usage: unilab attention-rank <checkpoint> [--windows 4] [--length 64] [--tolerance 1e-3] [--json FILE] [--config unilab.config.json]';

/**
 * `unilab attention-rank ckpt.safetensors`: Su's low-rank argument measured (libs/runner/src/analysis/attention-rank.ts):
 * for windows of held-out text from the checkpoint's own corpus, each self-attention head's matrix under a causal
 * and a bidirectional mask, its numerical rank (σ > tolerance · σ_max) and effective rank, per layer; --json writes
 * every spectrum for plots.
 */
export async function attentionRankCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const path = args.positionals[0];
  if (!path) throw new Error(USAGE);
  const windows = numberOption(args, 'windows', 4);
  const tolerance = numberOption(args, 'tolerance', 1e-3);
  if (!Number.isInteger(windows) || windows < 1 || windows > 64) throw new Error(`--windows: expected an integer from 1 to 64, got ${windows}`);
  if (!(tolerance > 0 && tolerance < 1)) throw new Error(`--tolerance: expected a number in (0, 1), got ${tolerance}`);
  const registry = await registryFromArgs(args);
  const loaded = await loadModel(path, registry);
  const length = numberOption(args, 'length', Math.min(64, loaded.seqLen));
  if (!Number.isInteger(length) || length < 2 || length > loaded.seqLen)
    throw new Error(`--length: expected an integer from 2 to the model's seqLen (${loaded.seqLen}), got ${length}`);
  if (loaded.spec.data.shards) throw new Error('attention-rank reads held-out text of a corpus; this checkpoint was trained on prepared shards');
  const data = await prepareData(loaded.spec.data.corpus, loaded.spec.data.heldOutFraction, loaded.tokenizer);
  const texts = (data.heldOut.length > 0 ? data.heldOut : data.train).filter((d) => d.length >= length).slice(0, windows);
  if (texts.length === 0) throw new Error(`no held-out document of ${loaded.spec.data.corpus} has ${length} tokens; lower --length`);

  const spectra: (HeadSpectrum & { window: number })[] = [];
  for (const [window, doc] of texts.entries()) {
    // A bidirectional prefix over the whole window, so that a mask-following model reads it both ways itself.
    const batch = singleExampleBatch(doc.subarray(0, length), length);
    for (const s of await attentionSpectra(loaded.model, loaded.backend, batch, { tolerance })) spectra.push({ ...s, window });
  }
  const layers = [...new Set(spectra.map((s) => s.layer))];
  console.log(`unilab: attention rank of ${loaded.model.architecture} (${path}) on ${texts.length} held-out windows of ${length} tokens, tolerance ${tolerance}`);
  console.log('| layer | causal numerical rank | causal effective rank | bidirectional numerical rank | bidirectional effective rank |');
  console.log('|---|---|---|---|---|');
  for (const layer of [...layers, 'all' as const]) {
    const s = summariseRanks(layer === 'all' ? spectra : spectra.filter((x) => x.layer === layer));
    console.log(
      `| ${layer} | ${s.causal.numericalRank.toFixed(1)} / ${length} | ${s.causal.effectiveRank.toFixed(2)} | ${s.bidirectional.numericalRank.toFixed(1)} / ${length} | ${s.bidirectional.effectiveRank.toFixed(2)} |`,
    );
  }
  const json = args.options.get('json');
  if (typeof json === 'string') {
    await writeFile(json, JSON.stringify({ checkpoint: path, architecture: loaded.model.architecture, length, tolerance, spectra }, null, 1) + '\n');
    console.log(`unilab: spectra written to ${json}`);
  }
  return 0;
}
