import { Rng, createReferenceBackend, disposeParameters, encodingMismatch, type FootprintEnvironment, type PositionalEncoding, type TrainingFootprint } from '@unilab/core';
import type { ModelOptions } from './config.ts';
import type { EncoderDecoderConfig } from './encoder-decoder.ts';
import { builtinPositionalEncodings } from './positional/builtin.ts';
import type { SingleStackConfig } from './single-stack-model.ts';

/**
 * Size and cost of a model, in closed form, for `unilab describe` and for fair comparisons: parameters split as
 * Kaplan et al. 2020 do (embedding vs non-embedding), FLOPs per token, and a memory estimate for training in f32 with
 * AdamW. The formulas follow the modules in this folder one to one (linear layers have no biases).
 */
export interface ParameterBreakdown {
  /** Token tables and learned absolute position tables (looked up, not multiplied). */
  embedding: number;
  /** The untied output projection d × V (0 when tied to the token table). */
  outputHead: number;
  /** Blocks, norms and relative-bias tables. */
  nonEmbedding: number;
  total: number;
}

export interface ModelDescription {
  architecture: string;
  /** One line: layers, width, heads, FFN, norm, activation, encoding. */
  shape: string;
  parameters: ParameterBreakdown;
  /**
   * FLOPs per token (per position of either stack in an encoder-decoder, whose encoder and decoder each read seqLen
   * positions): forward = 2 · (weights each token multiplies) + attention (QKᵀ and AV: 4 · keys · d per layer,
   * counting every key as Kaplan et al. 2020 and Hoffmann et al. 2022 App. F do); training = 3 · forward (the backward
   * costs two forwards), i.e. 6N + 3 · attention.
   */
  flopsPerToken: { matmulWeights: number; forward: number; attention: number; training: number };
  /**
   * Bytes for training: weights, gradients, AdamW moments (16 per parameter) and activations (what the tape keeps,
   * plus one block's worth for the backward's transient gradients).
   */
  memory: { weightsAndOptimizer: number; activations: number; total: number };
}

/** The vocabulary and the batch the figures are for; positional encodings by name (the registry's; this library's own by default). */
export type DescribeOptions = FootprintEnvironment;

/** One stack's shape, the unit of every formula below. */
interface StackShape {
  layers: number;
  /** Decoder blocks of an encoder-decoder cross-attend to `memoryLen` encoder positions. */
  crossAttention: boolean;
  /** What the stack's positional encoding adds: parameters (embedding or not) and what it computes. */
  encoding: EncodingFootprint;
}

interface EncodingFootprint {
  embeddingParams: number;
  otherParams: number;
  rotates: boolean;
  embeds: boolean;
  bias: boolean;
}

/** The encoder-decoder's config is the one with two stack depths; every other built-in has one stack. */
function isEncoderDecoder(config: SingleStackConfig | EncoderDecoderConfig): config is EncoderDecoderConfig {
  return 'encoderLayers' in config;
}

/** Build the encoding once on a scratch backend to learn its parameter count and which hooks it fills. */
function encodingFootprint(options: ModelOptions, describe: DescribeOptions): EncodingFootprint {
  const lookup = describe.positionalEncoding ?? ((name: string) => builtinPositionalEncodings.find((p) => p.name === name));
  const plugin = lookup(options.positionalEncoding.name);
  if (!plugin) throw new Error(`unknown positional encoding "${options.positionalEncoding.name}"`);
  const backend = createReferenceBackend();
  const encoding: PositionalEncoding = plugin.create(plugin.configSchema.parse(options.positionalEncoding.config, 'positionalEncoding.config'), {
    backend,
    rng: new Rng(0),
    prefix: '',
    dModel: options.dModel,
    heads: options.heads,
    headDim: options.dModel / options.heads,
    attention: 'causal',
  });
  const params = encoding.params.reduce((n, p) => n + p.value.size, 0);
  disposeParameters(backend, encoding.params);
  // Tables added to the embeddings are embedding parameters (Kaplan et al. exclude position embeddings from N).
  const embeds = encoding.embed !== undefined;
  return { embeddingParams: embeds ? params : 0, otherParams: embeds ? 0 : params, embeds, rotates: encoding.rotate !== undefined, bias: encoding.attentionBias !== undefined };
}

function kvDim(c: ModelOptions): number {
  return (c.dModel / c.heads) * c.kvHeads;
}

function normParams(c: ModelOptions): number {
  return c.norm === 'rmsnorm' ? c.dModel : 2 * c.dModel;
}

/** Weights one token multiplies in an attention layer (Wq, Wk, Wv, Wo) and in the FFN. */
function attentionWeights(c: ModelOptions): number {
  return 2 * c.dModel * c.dModel + 2 * c.dModel * kvDim(c);
}

function ffnWeights(c: ModelOptions): number {
  return (c.activation === 'swiglu' ? 3 : 2) * c.dModel * c.ffnHidden;
}

function blockParams(c: ModelOptions, cross: boolean): number {
  const sublayer = normParams(c) + attentionWeights(c);
  return sublayer + (cross ? sublayer : 0) + normParams(c) + ffnWeights(c);
}

function stackParams(c: ModelOptions, s: StackShape): number {
  return s.layers * blockParams(c, s.crossAttention) + (c.normPlacement === 'pre' ? normParams(c) : 0) + s.encoding.otherParams;
}

function stacksOf(config: SingleStackConfig | EncoderDecoderConfig, options: DescribeOptions): StackShape[] {
  const encoding = encodingFootprint(config, options);
  if (isEncoderDecoder(config))
    return [
      { layers: config.encoderLayers, crossAttention: false, encoding },
      { layers: config.decoderLayers, crossAttention: true, encoding },
    ];
  return [{ layers: config.layers, crossAttention: false, encoding }];
}

function tokenTables(config: SingleStackConfig | EncoderDecoderConfig): number {
  return isEncoderDecoder(config) && !config.shareEmbeddings ? 2 : 1;
}

function breakdown(config: SingleStackConfig | EncoderDecoderConfig, stacks: StackShape[], vocabSize: number): ParameterBreakdown {
  const d = config.dModel;
  const embedding = tokenTables(config) * vocabSize * d + stacks.reduce((n, s) => n + s.encoding.embeddingParams, 0);
  const outputHead = config.tieEmbeddings ? 0 : d * vocabSize;
  const nonEmbedding = stacks.reduce((n, s) => n + stackParams(config, s), 0);
  return { embedding, outputHead, nonEmbedding, total: embedding + outputHead + nonEmbedding };
}

/** Parameters of a built-in architecture's config, split as in ParameterBreakdown. */
export function parameterBreakdown(architecture: string, config: SingleStackConfig | EncoderDecoderConfig, options: DescribeOptions): ParameterBreakdown {
  return breakdown(config, stacksOf(config, options), options.vocabSize);
}

/**
 * Forward FLOPs, summed over one sequence of every stack; `lengths[k]` is stack k's positions (an encoder-decoder's
 * encoder first, whose output the decoder cross-attends). Per layer and query position: 2 · weights, plus 4 · keys · d
 * for QKᵀ and AV. Cross-attention projects the encoder output to keys and values once per decoder layer.
 */
function forwardFlops(c: ModelOptions, stacks: StackShape[], lengths: readonly number[], vocabSize: number): { matmul: number; attention: number; positions: number } {
  const d = c.dModel;
  let matmul = 0;
  let attention = 0;
  stacks.forEach((s, k) => {
    const t = lengths[k];
    const memory = lengths[0];
    const perPosition = s.layers * (attentionWeights(c) + ffnWeights(c) + (s.crossAttention ? 2 * d * d : 0));
    matmul += 2 * t * perPosition;
    attention += t * s.layers * 4 * d * (t + (s.crossAttention ? memory : 0));
    // The cross-attention's Wk and Wv, applied to the encoder positions in each decoder layer.
    if (s.crossAttention) matmul += 2 * memory * s.layers * 2 * d * kvDim(c);
  });
  // The output head multiplies every position of the last stack (the tied head costs the same).
  matmul += 2 * lengths[lengths.length - 1] * d * vocabSize;
  return { matmul, attention, positions: lengths.reduce((a, b) => a + b, 0) };
}

/**
 * Training FLOPs of one row as it is actually computed (padding included: every position of the row goes through
 * the kernels): 3 · forward (Kaplan et al. 2020; the backward costs two forwards). `decoderLen` is an
 * encoder-decoder's decoder row when it differs from its encoder row of `seqLen` (T5: 512 inputs, 114 targets).
 */
export function rowTrainingFlops(
  architecture: string,
  config: SingleStackConfig | EncoderDecoderConfig,
  options: DescribeOptions & { decoderLen?: number },
): number {
  const stacks = stacksOf(config, options);
  const lengths = stacks.length === 2 ? [options.seqLen, options.decoderLen ?? options.seqLen] : [options.seqLen];
  const { matmul, attention } = forwardFlops(config, stacks, lengths, options.vocabSize);
  return 3 * (matmul + attention);
}

/**
 * Floats per sequence the tape keeps for the backward: every op output (norms with their statistics, projections,
 * rotated q and k, attention output and its log-sum-exp, activations, residual sums, dropout outputs), the logits and
 * their gradient; plus the attention biases [H, T, T] of relative encodings. On top, what lives only during the
 * backward (gradients of activations, kernel scratch): counted as one more block of the largest stack, which brings the
 * estimate within about 10% of the resident memory a real run adds (docs/ARCHITECTURES.md, `unilab describe`).
 */
function activationFloats(c: ModelOptions, stacks: StackShape[], t: number, vocabSize: number): number {
  const d = c.dModel;
  const kv = kvDim(c);
  const norm = d + (c.norm === 'rmsnorm' ? 1 : 2);
  const drop = c.dropout > 0 ? d : 0;
  let perSequence = 0;
  let largestBlock = 0;
  for (const s of stacks) {
    const self = norm + d + 2 * kv + (s.encoding.rotates ? d + kv : 0) + d + c.heads + d + drop + d;
    const cross = s.crossAttention ? norm + d + d + c.heads + d + drop + d + 2 * kv : 0;
    const ffn = norm + c.ffnHidden * (c.activation === 'swiglu' ? 3 : 2) + d + drop + d;
    const perPosition = s.layers * (self + cross + ffn) + d + (s.encoding.embeds ? d : 0) + drop + (c.normPlacement === 'pre' ? norm : 0);
    perSequence += t * perPosition + (s.encoding.bias ? 2 * c.heads * t * t : 0);
    largestBlock = Math.max(largestBlock, t * (self + cross + ffn));
  }
  return perSequence + largestBlock + 2 * t * vocabSize;
}

function shapeOf(config: SingleStackConfig | EncoderDecoderConfig): string {
  const layers = isEncoderDecoder(config) ? `${config.encoderLayers}+${config.decoderLayers} layers` : `${config.layers} layers`;
  const c = config;
  const extras = [c.tieEmbeddings ? 'tied' : 'untied', isEncoderDecoder(config) && !config.shareEmbeddings ? 'separate embeddings' : ''];
  return [
    layers,
    `d ${c.dModel}`,
    `${c.heads} heads (kv ${c.kvHeads})`,
    `ffn ${c.ffnHidden} ${c.activation}`,
    `${c.normPlacement}-${c.norm}`,
    c.positionalEncoding.name,
    ...extras.filter(Boolean),
  ].join(', ');
}

export function describeModel(architecture: string, config: SingleStackConfig | EncoderDecoderConfig, options: DescribeOptions): ModelDescription {
  const stacks = stacksOf(config, options);
  const parameters = breakdown(config, stacks, options.vocabSize);
  const { matmul, attention, positions } = forwardFlops(config, stacks, stacks.map(() => options.seqLen), options.vocabSize);
  const forward = (matmul + attention) / positions;
  const activations = 4 * options.batchSize * activationFloats(config, stacks, options.seqLen, options.vocabSize);
  const weightsAndOptimizer = 16 * parameters.total;
  return {
    architecture,
    shape: shapeOf(config),
    parameters,
    flopsPerToken: { matmulWeights: matmul / positions / 2, forward, attention: attention / positions, training: 3 * forward },
    memory: { weightsAndOptimizer, activations, total: weightsAndOptimizer + activations },
  };
}

/** The figures an architecture plugin's `footprint` hook reports: describeModel's parameters and memory. */
export function trainingFootprint(architecture: string, config: SingleStackConfig | EncoderDecoderConfig, options: DescribeOptions): TrainingFootprint {
  const { parameters, memory } = describeModel(architecture, config, options);
  return { parameters: parameters.total, ...memory };
}

/**
 * The two encoder-decoders a fair comparison with a one-stack model needs (Raffel et al. 2020 §3.2.2 and Table 2:
 * an L+L encoder-decoder has about twice the parameters of an L-layer decoder but the same compute per token):
 *   sameCompute     L encoder + L decoder layers, everything else equal: each position still passes L blocks;
 *   sameParameters  ceil(L/2) + max(1, floor(L/2)) layers with the FFN width that brings the total (cross-attention
 *                   included) closest to the one-stack model's; it does about half the compute per token.
 * Both share one token table between encoder and decoder, as T5 does. An encoding the encoder-decoder cannot use
 * (none) is replaced by rope.
 */
export function matchedEncoderDecoders(
  config: SingleStackConfig,
  options: DescribeOptions,
): { sameParameters: EncoderDecoderConfig; sameCompute: EncoderDecoderConfig } {
  const lookup = options.positionalEncoding ?? ((name: string) => builtinPositionalEncodings.find((p) => p.name === name)!);
  const plugin = lookup(config.positionalEncoding.name);
  const usable = plugin !== undefined && encodingMismatch(plugin, { positionDims: 1, attention: 'bidirectional' }) === null;
  const { layers, ...shared } = config;
  const base: EncoderDecoderConfig = {
    ...shared,
    positionalEncoding: usable ? config.positionalEncoding : { name: 'rope', config: {} },
    encoderLayers: layers,
    decoderLayers: layers,
    shareEmbeddings: true,
  };
  const target = parameterBreakdown('decoder', { ...config, positionalEncoding: base.positionalEncoding }, options).total;
  const half = { ...base, encoderLayers: Math.ceil(layers / 2), decoderLayers: Math.max(1, Math.floor(layers / 2)) };
  // The total is linear in the FFN width: solve for it and round.
  const at = (ffnHidden: number) => parameterBreakdown('encoder-decoder', { ...half, ffnHidden }, options).total;
  const perUnit = at(1) - at(0);
  const ffnHidden = Math.max(1, Math.round((target - at(0)) / perUnit));
  return { sameParameters: { ...half, ffnHidden }, sameCompute: base };
}
