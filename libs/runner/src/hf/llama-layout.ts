/**
 * How a unilab `decoder` and a Hugging Face `LlamaForCausalLM` lay out the same weights.
 *
 * - Linear layers: unilab stores W [in, out] and computes x·W; transformers' nn.Linear stores [out, in] and
 *   computes x·Wᵀ. Every projection is transposed on the way out and back.
 * - RoPE: unilab rotates interleaved pairs (2i, 2i+1) of each head by angle pos·base^(-2i/D) (RoFormer §3.4,
 *   core/kernels/rope.ts); transformers' Llama rotates the halves (i, i + D/2) by the same angle ("rotate_half").
 *   The two agree once each head's q and k output features are reordered so that unilab's feature 2i lands at i and
 *   2i+1 at i + D/2. Attention scores are q·k sums over features, so a common permutation of q and k leaves them
 *   unchanged; v and o are not permuted.
 * - GQA: both give query head h the key/value head ⌊h / (heads / kvHeads)⌋ (core/kernels/attention.ts; transformers'
 *   repeat_kv), so heads need no reordering.
 */

/** Transformers' row (feature) index within a head for unilab's feature j: 2i -> i, 2i+1 -> i + D/2. */
export function hfFeatureOfUnilab(j: number, headDim: number): number {
  return j % 2 === 0 ? j / 2 : (j - 1) / 2 + headDim / 2;
}

/** unilab W [inDim, outDim] -> transformers [outDim, inDim], rotating-half feature order when `ropeHeadDim` is given. */
export function toHfLinear(w: Float32Array, inDim: number, outDim: number, ropeHeadDim?: number): Float32Array {
  const out = new Float32Array(inDim * outDim);
  for (let o = 0; o < outDim; o++) {
    const row = ropeHeadDim ? Math.floor(o / ropeHeadDim) * ropeHeadDim + hfFeatureOfUnilab(o % ropeHeadDim, ropeHeadDim) : o;
    for (let i = 0; i < inDim; i++) out[row * inDim + i] = w[i * outDim + o];
  }
  return out;
}

/** The inverse of toHfLinear: transformers [outDim, inDim] -> unilab W [inDim, outDim]. */
export function fromHfLinear(w: Float32Array, inDim: number, outDim: number, ropeHeadDim?: number): Float32Array {
  const out = new Float32Array(inDim * outDim);
  for (let o = 0; o < outDim; o++) {
    const row = ropeHeadDim ? Math.floor(o / ropeHeadDim) * ropeHeadDim + hfFeatureOfUnilab(o % ropeHeadDim, ropeHeadDim) : o;
    for (let i = 0; i < inDim; i++) out[i * outDim + o] = w[row * inDim + i];
  }
  return out;
}

/** One weight's names on both sides, its unilab shape [in, out] for linear layers, and whether RoPE permutes it. */
export interface WeightPair {
  unilab: string;
  hf: string;
  kind: 'linear' | 'copy';
  /** For linear: [in, out] in unilab's layout. For copy: the shape. */
  shape: [number, number] | [number];
  rope?: boolean;
}

export interface LlamaShape {
  layers: number;
  dModel: number;
  heads: number;
  kvHeads: number;
  ffnHidden: number;
  vocabSize: number;
  tieEmbeddings: boolean;
}

/** The name table between a unilab decoder's parameters and LlamaForCausalLM's state dict. */
export function llamaWeightPairs(s: LlamaShape): WeightPair[] {
  const kvDim = (s.dModel / s.heads) * s.kvHeads;
  const pairs: WeightPair[] = [{ unilab: 'tok_embeddings', hf: 'model.embed_tokens.weight', kind: 'copy', shape: [s.vocabSize, s.dModel] }];
  for (let l = 0; l < s.layers; l++) {
    const u = `layers.${l}`;
    const h = `model.layers.${l}`;
    pairs.push(
      { unilab: `${u}.attn_norm`, hf: `${h}.input_layernorm.weight`, kind: 'copy', shape: [s.dModel] },
      { unilab: `${u}.wq`, hf: `${h}.self_attn.q_proj.weight`, kind: 'linear', shape: [s.dModel, s.dModel], rope: true },
      { unilab: `${u}.wk`, hf: `${h}.self_attn.k_proj.weight`, kind: 'linear', shape: [s.dModel, kvDim], rope: true },
      { unilab: `${u}.wv`, hf: `${h}.self_attn.v_proj.weight`, kind: 'linear', shape: [s.dModel, kvDim] },
      { unilab: `${u}.wo`, hf: `${h}.self_attn.o_proj.weight`, kind: 'linear', shape: [s.dModel, s.dModel] },
      { unilab: `${u}.ffn_norm`, hf: `${h}.post_attention_layernorm.weight`, kind: 'copy', shape: [s.dModel] },
      { unilab: `${u}.w_gate`, hf: `${h}.mlp.gate_proj.weight`, kind: 'linear', shape: [s.dModel, s.ffnHidden] },
      { unilab: `${u}.w_up`, hf: `${h}.mlp.up_proj.weight`, kind: 'linear', shape: [s.dModel, s.ffnHidden] },
      { unilab: `${u}.w_down`, hf: `${h}.mlp.down_proj.weight`, kind: 'linear', shape: [s.ffnHidden, s.dModel] },
    );
  }
  pairs.push({ unilab: 'norm', hf: 'model.norm.weight', kind: 'copy', shape: [s.dModel] });
  if (!s.tieEmbeddings) pairs.push({ unilab: 'output', hf: 'lm_head.weight', kind: 'linear', shape: [s.dModel, s.vocabSize] });
  return pairs;
}
