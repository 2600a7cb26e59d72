import { objectiveLabel } from '@unilab/runner';
import { bitsPerByte, type BitsPerByteOptions, type BitsPerByteReport } from './bits-per-byte.ts';
import { heldOutDomains, type DomainOptions } from './corpora/held-out-domains.ts';
import { EVAL_MODES, modeNll, type EvalMode, type ModeNll, type ModeNllOptions } from './mode-nll.ts';
import type { ScoringModel } from './scoring.ts';
import type { BootstrapOptions, Estimate } from './stats/bootstrap.ts';

/** The likelihood half of the evaluation suite for one model: bits per byte per domain and UL2's mode-wise NLL. */
export interface LikelihoodReport {
  architecture: string;
  objective: string;
  vocabSize: number;
  seqLen: number;
  bitsPerByte: BitsPerByteReport;
  /** Mode-wise NLL on the held-out documents of the first domain (SOTU). */
  modes: { domain: string; results: ModeNll[] };
}

export interface LikelihoodOptions extends BootstrapOptions {
  domains?: DomainOptions;
  bitsPerByte?: Omit<BitsPerByteOptions, keyof BootstrapOptions>;
  modes?: Omit<ModeNllOptions, keyof BootstrapOptions> & { modes?: readonly EvalMode[] };
}

/** Run bits per byte and mode-wise NLL on the held-out domains of a model's spec (heldOutDomains). */
export async function evaluateLikelihood(model: ScoringModel, options: LikelihoodOptions = {}): Promise<LikelihoodReport> {
  const bootstrap = { resamples: options.resamples, level: options.level, seed: options.seed };
  const domains = await heldOutDomains(model.spec, options.domains);
  const bpb = await bitsPerByte(model, domains, { ...options.bitsPerByte, ...bootstrap });
  const modeDomain = domains[0];
  const results = await modeNll(model, modeDomain.documents, options.modes?.modes ?? EVAL_MODES, { ...options.modes, ...bootstrap });
  return {
    architecture: model.model.architecture,
    objective: objectiveLabel(model.spec.objective),
    vocabSize: model.tokenizer.vocabSize,
    seqLen: model.seqLen,
    bitsPerByte: bpb,
    modes: { domain: modeDomain.name, results },
  };
}

const interval = (e: Estimate) => (Number.isNaN(e.low) ? `n/a (n=${e.n})` : `[${e.low.toFixed(3)}, ${e.high.toFixed(3)}]`);

/** The report as aligned text: every figure with its 95% interval, its sample size and the uniform model's figure. */
export function formatLikelihoodReport(report: LikelihoodReport): string {
  const level = Math.round((report.bitsPerByte.domains[0]?.bitsPerByte.level ?? 0.95) * 100);
  const lines = [
    `${report.architecture} trained by ${report.objective} (vocab ${report.vocabSize}, length ${report.seqLen})`,
    '',
    `bits per byte: ${report.bitsPerByte.chunkTokens}-token chunks after up to ${report.bitsPerByte.chunkTokens} tokens of context; ${level}% CI by document bootstrap`,
    `  read as ${report.bitsPerByte.format}`,
    `  ${'domain'.padEnd(22)} ${'bpb'.padStart(7)}  ${`${level}% CI`.padEnd(18)} ${'uniform'.padStart(7)}  ${'docs'.padStart(5)} ${'bytes'.padStart(8)}`,
    ...report.bitsPerByte.domains.map(
      (d) =>
        `  ${d.domain.padEnd(22)} ${d.bitsPerByte.value.toFixed(3).padStart(7)}  ${interval(d.bitsPerByte).padEnd(18)} ${d.uniformBitsPerByte.toFixed(3).padStart(7)}  ${String(d.documents).padStart(5)} ${String(d.bytes).padStart(8)}`,
    ),
    '',
    `mode-wise NLL on ${report.modes.domain} held-out text (UL2's modes); ${level}% CI by document bootstrap`,
    `  ${'mode'.padEnd(10)} ${'nats/tok'.padStart(8)}  ${`${level}% CI`.padEnd(18)} ${'uniform'.padStart(7)} ${'bpb'.padStart(7)}  ${`${level}% CI`.padEnd(18)} ${'docs'.padStart(5)} ${'tokens'.padStart(7)}`,
    ...report.modes.results.map(
      (m) =>
        `  ${m.mode.padEnd(10)} ${m.natsPerToken.value.toFixed(3).padStart(8)}  ${interval(m.natsPerToken).padEnd(18)} ${m.uniformNatsPerToken.toFixed(3).padStart(7)} ${m.bitsPerByte.value.toFixed(3).padStart(7)}  ${interval(m.bitsPerByte).padEnd(18)} ${String(m.documents).padStart(5)} ${String(m.tokens).padStart(7)}`,
    ),
    ...report.modes.results.map((m) => `  ${m.mode}: ${m.task}; read as ${m.format}`),
  ];
  return lines.join('\n');
}
