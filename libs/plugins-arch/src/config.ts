import {
  SpecError,
  boolean,
  field,
  integer,
  number,
  object,
  oneOf,
  optional,
  positionalEncodingChoice,
  type Infer,
  type PositionalEncodingChoice,
} from '@unilab/core';

/**
 * The config fields every architecture here shares: block options, embeddings and the positional encoding.
 * Defaults are LLaMA's (Touvron et al. 2023): pre-norm RMSNorm, SwiGLU with a 2/3·4d hidden width, RoPE, untied
 * output head, no dropout, no biases in linear layers.
 */
export const modelFields = {
  dModel: field(integer({ min: 2, max: 8192 }), 128),
  heads: field(integer({ min: 1, max: 128 }), 4),
  /** Key/value heads; fewer than `heads` is grouped-query attention (Ainslie et al. 2023), 1 is multi-query (Shazeer 2019). 0: `heads`. */
  kvHeads: field(integer({ min: 0, max: 128 }), 0),
  /** FFN hidden width; 0: LLaMA's 2/3·4d rounded up to a multiple of 8 for SwiGLU, 4d for GELU and ReLU. */
  ffnHidden: field(integer({ min: 0, max: 65536 }), 0),
  normEps: field(number({ greaterThan: 0, max: 1 }), 1e-5),
  /** RMSNorm (Zhang & Sennrich 2019; LLaMA) or LayerNorm (Ba et al. 2016; GPT-2, BERT, T5 uses RMS without bias). */
  norm: field(oneOf(['rmsnorm', 'layernorm'] as const), 'rmsnorm'),
  /** 'pre': x + f(norm(x)) (GPT-2, LLaMA); 'post': norm(x + f(x)) (Vaswani et al. 2017, BERT). */
  normPlacement: field(oneOf(['pre', 'post'] as const), 'pre'),
  /** SwiGLU (Shazeer 2020; LLaMA), GELU (BERT, GPT-2) or ReLU (Vaswani et al. 2017, T5). */
  activation: field(oneOf(['swiglu', 'gelu', 'relu'] as const), 'swiglu'),
  /** Residual dropout rate (Vaswani et al. 2017 §5.4): on the embeddings and on every sublayer output. */
  dropout: field(number({ min: 0, max: 0.9 }), 0),
  /** Output head = token embedding table transposed (Press & Wolf 2017), as in GPT-2, BERT and T5. */
  tieEmbeddings: field(boolean(), false),
  /** A positional-encoding plugin by name, or { name, config }. Default: the architecture's (rope; rope-2d for glm). */
  positionalEncoding: optional(positionalEncodingChoice()),
  /** Shorthand kept for specs written before encodings were plugins: { name: "rope", config: { base } }. */
  ropeBase: optional(number({ greaterThan: 1 })),
};

export type Norm = 'rmsnorm' | 'layernorm';
export type NormPlacement = 'pre' | 'post';
export type Activation = 'swiglu' | 'gelu' | 'relu';

/** The resolved options of one transformer block. */
export interface BlockConfig {
  dModel: number;
  heads: number;
  kvHeads: number;
  ffnHidden: number;
  normEps: number;
  norm: Norm;
  normPlacement: NormPlacement;
  activation: Activation;
  dropout: number;
}

/** Block options plus what the whole model shares. */
export interface ModelOptions extends BlockConfig {
  tieEmbeddings: boolean;
  positionalEncoding: PositionalEncodingChoice;
}

/** LLaMA's FFN width: 2/3 of 4d rounded up to a multiple of 8 (688 for d = 256). */
export function llamaFfnHidden(dModel: number): number {
  return Math.ceil((8 * dModel) / 3 / 8) * 8;
}

/** Fill the defaults that depend on other fields and check the fields against each other. */
export function resolveOptions<C extends Infer<typeof modelFields>>(c: C, path: string, defaultEncoding: string): Omit<C, 'ropeBase'> & ModelOptions {
  if (c.dModel % c.heads !== 0) throw new SpecError(`${path}.heads`, `must divide dModel (${c.dModel}); got ${c.heads}`);
  const kvHeads = c.kvHeads === 0 ? c.heads : c.kvHeads;
  if (c.heads % kvHeads !== 0) throw new SpecError(`${path}.kvHeads`, `must divide heads (${c.heads}); got ${kvHeads}`);
  if (c.ropeBase !== undefined && c.positionalEncoding !== undefined)
    throw new SpecError(`${path}.ropeBase`, 'give the base in positionalEncoding.config.base instead (ropeBase is the old shorthand for rope)');
  const positionalEncoding =
    c.positionalEncoding ?? (c.ropeBase !== undefined ? { name: 'rope', config: { base: c.ropeBase } } : { name: defaultEncoding, config: {} });
  const ffnHidden = c.ffnHidden !== 0 ? c.ffnHidden : c.activation === 'swiglu' ? llamaFfnHidden(c.dModel) : 4 * c.dModel;
  const { ropeBase: _legacy, ...rest } = c;
  return { ...rest, kvHeads, ffnHidden, positionalEncoding };
}
