import type { AttentionMask, AttentionPattern, AttentionSite, ModelEnvironment, Parameter, PositionalEncoding, PositionDims, PositionTensors, RotationRole, Tape, Var } from '@unilab/core';
import type { ModelOptions } from './config.ts';
import { resolvePositionalEncoding } from './positional/resolve.ts';
import { blockForward, blockParameters, createBlock, type BlockParams } from './transformer-block.ts';
import { createNorm, normForward, normParameters, type NormParams } from './norm.ts';
import { residualDropout, type DropoutContext } from './residual-dropout.ts';
import type { ModelTuning } from './tuning.ts';
import { attentionBiasRows, blockCache, type LayerSlots } from './kv-cache.ts';

/**
 * A stack of transformer blocks with its positional encoding: the whole of a decoder-only model between embedding
 * and head, or one side of an encoder-decoder. A pre-norm stack ends with a final norm (GPT-2); a post-norm stack's
 * last block already ends in one.
 */
export interface Stack {
  encoding: PositionalEncoding;
  blocks: BlockParams[];
  finalNorm?: NormParams;
  /** Where this stack's dropout sites start, so an encoder's and a decoder's masks differ. */
  dropoutSites: number;
}

export interface StackSpec {
  architecture: string;
  /** '' or 'encoder.' / 'decoder.'. */
  prefix: string;
  layers: number;
  attention: AttentionPattern;
  /** Position dimensions the stack reads (2: GLM's blockPositions too). Absent: 1. */
  positionDims?: PositionDims;
  crossAttention: boolean;
  dropoutSites: number;
  /** LoRA and adapters for fine-tuning (one stream for the whole model: an encoder-decoder passes it to both stacks). */
  tuning?: ModelTuning;
}

export function createStack(env: ModelEnvironment, options: ModelOptions, spec: StackSpec): Stack {
  const { backend, rng } = env;
  const headDim = options.dModel / options.heads;
  const encoding = resolvePositionalEncoding(env, spec.architecture, options.positionalEncoding, {
    backend,
    rng,
    prefix: spec.prefix,
    dModel: options.dModel,
    heads: options.heads,
    headDim,
    attention: spec.attention,
    positionDims: spec.positionDims ?? 1,
  });
  // GPT-2's scaled init of the projections into the residual stream: 0.02 / sqrt(2 · layers).
  const residualStd = 0.02 / Math.sqrt(2 * spec.layers);
  const blocks: BlockParams[] = [];
  for (let l = 0; l < spec.layers; l++) blocks.push(createBlock(backend, rng, `${spec.prefix}layers.${l}`, options, residualStd, spec.crossAttention, spec.tuning));
  const finalNorm = options.normPlacement === 'pre' ? createNorm(backend, `${spec.prefix}norm`, options.norm, options.dModel) : undefined;
  return { encoding, blocks, finalNorm, dropoutSites: spec.dropoutSites };
}

/** In creation order: the encoding's tables, the blocks, the final norm. */
export function stackParameters(s: Stack): Parameter[] {
  return [...s.encoding.params, ...s.blocks.flatMap(blockParameters), ...(s.finalNorm ? normParameters(s.finalNorm) : [])];
}

/** Its attention sites (Model.attentionSites) in the order stackForward records them: per block, self then cross. */
export function stackAttentionSites(s: Stack, stack: AttentionSite['stack']): AttentionSite[] {
  return s.blocks.flatMap((block, layer): AttentionSite[] => [
    { stack, layer, attends: 'self', output: block.attention.wo },
    ...(block.cross ? [{ stack, layer, attends: 'cross' as const, output: block.cross.attention.wo }] : []),
  ]);
}

export interface StackInputs {
  mask: AttentionMask;
  at: PositionTensors;
  cross?: { memory: Var; mask: AttentionMask };
  dropout?: DropoutContext;
  /** While decoding (kv-cache.ts): x holds the tokens from index `slot` on, each block reads and extends its cache. */
  decoding?: StackDecoding;
}

/** A decoding step as the stack sees it: where the new tokens start, the cache's length and each block's cache. */
export interface StackDecoding {
  slot: number;
  capacity: number;
  blocks: { self: LayerSlots; cross?: { keys: Var; values: Var } }[];
}

/** x: token embeddings [B, T, d] -> the stack's output [B, T, d]. */
export function stackForward(tape: Tape, x: Var, s: Stack, options: ModelOptions, inputs: StackInputs): Var {
  const { encoding } = s;
  let h = encoding.embed ? encoding.embed(tape, x, inputs.at) : x;
  h = residualDropout(tape, h, inputs.dropout, s.dropoutSites);
  const rotate = encoding.rotate;
  const decoding = inputs.decoding;
  const positions = {
    rotate: rotate && ((v: Var, role: RotationRole) => rotate.call(encoding, tape, v, inputs.at, role)),
    bias: decoding ? attentionBiasRows(tape, encoding, decoding.slot, x.shape[1], decoding.capacity) : encoding.attentionBias?.(tape, x.shape[1]),
  };
  for (const [l, block] of s.blocks.entries()) {
    const dropoutSite = s.dropoutSites + 1 + 3 * l;
    const cache = decoding && blockCache(decoding, l);
    h = blockForward(tape, h, block, options, { mask: inputs.mask, positions, cross: inputs.cross, dropout: inputs.dropout, dropoutSite, cache });
  }
  return s.finalNorm ? normForward(tape, h, s.finalNorm, options.normEps) : h;
}
