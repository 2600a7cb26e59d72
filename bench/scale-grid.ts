/**
 * bench-scale's grid (`npm run bench:scale`, bench/scale.ts): which models at which sequence lengths, how many
 * parameters each has, and the encoder-decoder matched to a decoder's parameters. Pure functions, unit-tested in
 * scale-grid.test.ts; the processes and timings live in scale.ts, the fit, table and plot in scale-report.ts.
 *
 * Every point trains the same number of input positions per step (TOKENS_PER_STEP: bench-small's 8 × 256), so a
 * longer sequence means a smaller batch: the linears' work per step stays fixed and only attention's grows with T.
 * That makes the memory test direct: attention that keeps O(T) per row keeps the step's memory flat across T, while
 * one that materialises the T × T scores adds layers × heads × tokens × 4 bytes per unit of T, per score tensor kept.
 */

import { decoder, encoderDecoderArchitecture, matchedEncoderDecoders, parameterBreakdown, type EncoderDecoderConfig, type SingleStackConfig } from '@unilab/plugins-arch';

export type ScaleArchitecture = 'decoder' | 'prefix-lm' | 'encoder-decoder';

/** One LLaMA-style model shape (BENCH.md's bench-small block: pre-RMSNorm, SwiGLU, RoPE, untied head, no biases). */
export interface ModelShape {
  /** The row's name, e.g. "5M". */
  label: string;
  dModel: number;
  heads: number;
  ffnHidden: number;
  /** Decoder and prefix-LM: the one stack's blocks. */
  layers: number;
  /** Encoder-decoder: encoder and decoder blocks (layers is their sum). */
  encoderLayers?: number;
  decoderLayers?: number;
}

/** One point of the grid: a model, an architecture and a sequence length, trained at TOKENS_PER_STEP. */
export interface ScalePoint {
  /** The series the point belongs to: "size", "sequence" or "architecture" (a point may be in more than one). */
  series: ('size' | 'sequence' | 'architecture')[];
  architecture: ScaleArchitecture;
  shape: ModelShape;
  seqLen: number;
  batchSize: number;
  /** Encoder-decoder: the first half of each window is the encoder's input; prefix LM: the bidirectional prefix. */
  prefixLen: number;
  parameters: number;
}

export const SCALE_VOCAB = 8192;
export const TOKENS_PER_STEP = 2048;

/**
 * The decoder sizes the issue names (~1M, 5M, 20M, 50M parameters at vocabulary 8192). Head dimension 64 from 5M on
 * (as bench-small), SwiGLU width LLaMA's 8d/3 rounded up to a multiple of 8.
 */
export const DECODER_SIZES: readonly ModelShape[] = [
  { label: '1M', dModel: 64, heads: 2, ffnHidden: 176, layers: 2 },
  { label: '5M', dModel: 192, heads: 3, ffnHidden: 512, layers: 4 },
  { label: '20M', dModel: 384, heads: 6, ffnHidden: 1024, layers: 8 },
  { label: '50M', dModel: 640, heads: 10, ffnHidden: 1712, layers: 8 },
];

export const SEQUENCE_LENGTHS = [128, 256, 512, 1024, 2048] as const;
export const QUICK_SEQUENCE_LENGTHS = [128, 512, 2048] as const;
/** bench-small's sequence length: the size series and the architecture series run at it. */
export const BASE_SEQ_LEN = 256;

/** The architecture's own config for a shape (LLaMA defaults for everything the shape does not name). */
export function modelConfig(architecture: ScaleArchitecture, s: ModelShape): SingleStackConfig | EncoderDecoderConfig {
  const common = { dModel: s.dModel, heads: s.heads, ffnHidden: s.ffnHidden, normEps: 1e-5, ropeBase: 10000 };
  if (architecture !== 'encoder-decoder') return decoder.configSchema.parse({ ...common, layers: s.layers }, 'bench-scale');
  if (!s.encoderLayers || !s.decoderLayers) throw new Error(`encoder-decoder shape ${s.label} needs encoderLayers and decoderLayers`);
  return encoderDecoderArchitecture.configSchema.parse({ ...common, encoderLayers: s.encoderLayers, decoderLayers: s.decoderLayers }, 'bench-scale');
}

/** Parameters as unilab counts them (libs/plugins-arch's parameterBreakdown, the figure `unilab describe` prints). */
export function parameterCount(architecture: ScaleArchitecture, s: ModelShape, vocab = SCALE_VOCAB): number {
  return parameterBreakdown(architecture, modelConfig(architecture, s), { vocabSize: vocab, seqLen: BASE_SEQ_LEN, batchSize: 1 }).total;
}

/**
 * The encoder-decoder at the decoder's parameters: libs/plugins-arch's matchedEncoderDecoders (the study's
 * "sameParameters" pair, Raffel et al. 2020 §3.2.2): ceil(L/2) + floor(L/2) blocks, one shared token table, the
 * FFN width that brings the total (cross-attention included) closest to the decoder's.
 */
export function matchEncoderDecoder(dec: ModelShape, vocab = SCALE_VOCAB): ModelShape {
  const { sameParameters: m } = matchedEncoderDecoders(modelConfig('decoder', dec) as SingleStackConfig, { vocabSize: vocab, seqLen: BASE_SEQ_LEN, batchSize: 1 });
  return { ...dec, label: dec.label, ffnHidden: m.ffnHidden, layers: m.encoderLayers + m.decoderLayers, encoderLayers: m.encoderLayers, decoderLayers: m.decoderLayers };
}

function point(series: ScalePoint['series'], architecture: ScaleArchitecture, shape: ModelShape, seqLen: number): ScalePoint {
  if (TOKENS_PER_STEP % seqLen !== 0) throw new RangeError(`sequence length ${seqLen} must divide ${TOKENS_PER_STEP} tokens per step`);
  const prefixLen = architecture === 'decoder' ? 0 : seqLen / 2;
  return { series, architecture, shape, seqLen, batchSize: TOKENS_PER_STEP / seqLen, prefixLen, parameters: parameterCount(architecture, shape) };
}

/** A point's identity: the same model at the same length is measured once, whichever series asked for it. */
export const pointKey = (p: Pick<ScalePoint, 'architecture' | 'shape' | 'seqLen'>) => `${p.architecture}/${p.shape.label}/${p.seqLen}`;

/**
 * The grid: the decoder sizes at BASE_SEQ_LEN; the 5M decoder at every sequence length; the prefix LM (same
 * parameters) and the matched encoder-decoder at 5M and BASE_SEQ_LEN. `quick` keeps 1M and 5M and three lengths.
 */
export function scaleGrid(opts: { quick?: boolean } = {}): ScalePoint[] {
  const sizes = opts.quick ? DECODER_SIZES.slice(0, 2) : DECODER_SIZES;
  const lengths = opts.quick ? QUICK_SEQUENCE_LENGTHS : SEQUENCE_LENGTHS;
  const five = DECODER_SIZES[1];
  const wanted: ScalePoint[] = [
    ...sizes.map((s) => point(['size'], 'decoder', s, BASE_SEQ_LEN)),
    ...lengths.map((t) => point(['sequence'], 'decoder', five, t)),
    point(['architecture'], 'decoder', five, BASE_SEQ_LEN),
    point(['architecture'], 'prefix-lm', five, BASE_SEQ_LEN),
    point(['architecture'], 'encoder-decoder', matchEncoderDecoder(five), BASE_SEQ_LEN),
  ];
  const byKey = new Map<string, ScalePoint>();
  for (const p of wanted) {
    const seen = byKey.get(pointKey(p));
    if (seen) seen.series = [...new Set([...seen.series, ...p.series])];
    else byKey.set(pointKey(p), p);
  }
  return [...byKey.values()];
}
