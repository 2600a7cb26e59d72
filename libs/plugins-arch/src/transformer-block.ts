import type { AdapterParams, AttentionMask, Backend, Parameter, Rng, Tape, Var } from '@unilab/core';
import { adapterForward, adapterParameters, createAdapter, ops } from '@unilab/core';
import {
  attentionContext,
  attentionParameters,
  createAttention,
  type AttentionCache,
  type AttentionParams,
  type AttentionPositions,
} from './attention-layer.ts';
import type { BlockConfig } from './config.ts';
import { createFeedForward, feedForwardHidden, feedForwardParameters, type FeedForwardParams } from './feed-forward.ts';
import { project, projectOnto, type Projected } from './projected.ts';
import { createNorm, normForward, normParameters, type NormParams } from './norm.ts';
import { residualDropout, type DropoutContext } from './residual-dropout.ts';
import type { ModelTuning } from './tuning.ts';

/**
 * One transformer block: self-attention, then (in an encoder-decoder's decoder) cross-attention to the encoder,
 * then the feed-forward network, each a residual sublayer:
 *   pre-norm  (GPT-2, LLaMA)       x = x + dropout(f(norm(x)))
 *   post-norm (Vaswani et al. 2017) x = norm(x + dropout(f(x)))
 * Parameter names are LLaMA's (layers.N.attn_norm, .wq, .wk, .wv, .wo, .ffn_norm, .w_gate, .w_up, .w_down), with
 * .cross_norm and .cross_wq ... .cross_wo for cross-attention.
 *
 * A block built for fine-tuning with adapters (Houlsby et al. 2019, Figure 2) applies one to each sublayer's output
 * before dropout and the residual add: f(x) becomes adapter(f(x)) (names .attn_adapter.*, .cross_adapter.*,
 * .ffn_adapter.*).
 */
export interface BlockParams {
  attnNorm: NormParams;
  attention: AttentionParams;
  cross?: { norm: NormParams; attention: AttentionParams };
  ffnNorm: NormParams;
  ffn: FeedForwardParams;
  adapters?: { attention: AdapterParams; cross?: AdapterParams; ffn: AdapterParams };
}

export function createBlock(
  backend: Backend,
  rng: Rng,
  prefix: string,
  c: BlockConfig,
  residualStd: number,
  withCrossAttention = false,
  tuning?: ModelTuning,
): BlockParams {
  const d = c.dModel;
  const attnNorm = createNorm(backend, `${prefix}.attn_norm`, c.norm, d);
  const attention = createAttention(backend, rng, `${prefix}.w`, c, residualStd, tuning);
  const cross = withCrossAttention
    ? { norm: createNorm(backend, `${prefix}.cross_norm`, c.norm, d), attention: createAttention(backend, rng, `${prefix}.cross_w`, c, residualStd, tuning) }
    : undefined;
  const ffnNorm = createNorm(backend, `${prefix}.ffn_norm`, c.norm, d);
  const ffn = createFeedForward(backend, rng, prefix, c, residualStd, tuning);
  const spec = tuning?.modules.adapters;
  const adapter = (name: string) => createAdapter(backend, tuning!.rng, `${prefix}.${name}`, d, spec!);
  const adapters = spec
    ? { attention: adapter('attn_adapter'), cross: withCrossAttention ? adapter('cross_adapter') : undefined, ffn: adapter('ffn_adapter') }
    : undefined;
  return { attnNorm, attention, cross, ffnNorm, ffn, adapters };
}

export function blockParameters(p: BlockParams): Parameter[] {
  return [
    ...normParameters(p.attnNorm),
    ...attentionParameters(p.attention),
    ...(p.cross ? [...normParameters(p.cross.norm), ...attentionParameters(p.cross.attention)] : []),
    ...normParameters(p.ffnNorm),
    ...feedForwardParameters(p.ffn),
    ...[p.adapters?.attention, p.adapters?.cross, p.adapters?.ffn].flatMap(adapterParameters),
  ];
}

/** What a block reads besides x: its self-attention mask and positions, and for cross-attention the encoder output. */
export interface BlockInputs {
  mask: AttentionMask;
  positions: AttentionPositions;
  cross?: { memory: Var; mask: AttentionMask };
  dropout?: DropoutContext;
  /** First dropout site of this block (each sublayer takes the next one). */
  dropoutSite: number;
  /** While decoding: this block's cached keys and values (kv-cache.ts). */
  cache?: { self: AttentionCache; cross?: AttentionCache };
}

export function blockForward(tape: Tape, x: Var, p: BlockParams, c: BlockConfig, inputs: BlockInputs): Var {
  let site = inputs.dropoutSite;
  const sublayer = (x: Var, norm: NormParams, f: (h: Var) => Projected, adapter?: AdapterParams): Var => {
    const g = (h: Var) => (adapter ? adapterForward(tape, project(tape, f(h)), adapter) : project(tape, f(h)));
    if (c.normPlacement === 'pre') {
      const n = normForward(tape, x, norm, c.normEps);
      // Nothing between the projection and the add: the add runs in the projection's epilogue (same bits).
      if (!adapter && !inputs.dropout) {
        site++;
        return projectOnto(tape, x, f(n));
      }
      return ops.add(tape, x, residualDropout(tape, g(n), inputs.dropout, site++));
    }
    return normForward(tape, ops.add(tape, x, residualDropout(tape, g(x), inputs.dropout, site++)), norm, c.normEps);
  };
  let h = sublayer(x, p.attnNorm, (n) => attentionContext(tape, n, n, p.attention, c, inputs.mask, inputs.positions, inputs.cache?.self), p.adapters?.attention);
  if (p.cross) {
    const { norm, attention } = p.cross;
    const cross = inputs.cross;
    if (!cross) throw new Error('a block with cross-attention needs the encoder output');
    h = sublayer(h, norm, (n) => attentionContext(tape, n, cross.memory, attention, c, cross.mask, {}, inputs.cache?.cross), p.adapters?.cross);
  }
  return sublayer(h, p.ffnNorm, (n) => feedForwardHidden(tape, n, p.ffn, c.normPlacement === 'pre'), p.adapters?.ffn);
}
