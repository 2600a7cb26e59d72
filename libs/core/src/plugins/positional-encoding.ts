import type { Tape, Var } from '../autodiff/tape.ts';
import type { Backend } from '../backend/backend.ts';
import type { Tensor } from '../backend/tensor.ts';
import { SpecError, field, json, object, string, type Schema } from '../config/schema.ts';
import type { Parameter } from '../nn/parameter.ts';
import type { Rng } from '../rng.ts';
import { positionDimsMismatch, type PositionDims } from './capabilities.ts';

/**
 * Positional encodings are plugins the architectures call. A transformer can learn where a token is in three
 * places, and an encoding fills one or more of them:
 *   embed          add a vector per position to the token embeddings   learned absolute, sinusoidal, GLM's 2D tables
 *   rotate         rotate queries and keys by their positions           RoPE, GLM-130B's 2D RoPE
 *   attentionBias  add a bias [H, Tq, Tk] to the attention scores        ALiBi, T5's relative buckets
 * An encoding that fills none of them ("none") leaves a causal decoder to infer positions from its mask.
 */

/**
 * The attention pattern of the stack an encoding serves, as the architecture declares it: 'causal' for a decoder,
 * 'bidirectional' for an encoder, 'mixed' when the batch's prefixEnd makes parts bidirectional (prefix LM, UniLM,
 * GLM). Relative encodings choose their buckets by it (T5 uses one-sided buckets in a causal decoder).
 */
export type AttentionPattern = 'causal' | 'bidirectional' | 'mixed';

/** What an attention stack tells the encoding it creates. */
export interface PositionalStack {
  backend: Backend;
  /** Initialisation randomness (learned tables). */
  rng: Rng;
  /** Prefix of parameter names: '' for a single-stack model, 'encoder.' or 'decoder.' for an encoder-decoder. */
  prefix: string;
  dModel: number;
  heads: number;
  headDim: number;
  attention: AttentionPattern;
  /** The position dimensions the stack reads (2: GLM's blockPositions too). Absent: 1. */
  positionDims?: PositionDims;
}

/** Which side of q·k a rotation is applied to. */
export type RotationRole = 'query' | 'key';

/** The positions of one forward, as uploaded from the Batch: i32 [B, T] each. */
export interface PositionTensors {
  positions: Tensor;
  /** GLM's second position dimension, when the architecture has one. */
  blockPositions?: Tensor;
}

/** An encoding built for one stack: its parameters and the functions the stack calls. */
export interface PositionalEncoding {
  /** Learned tables (trained and checkpointed with the model); empty for fixed encodings. */
  readonly params: readonly Parameter[];
  /** Add position information to the token embeddings x [B, T, d]. */
  embed?(tape: Tape, x: Var, at: PositionTensors): Var;
  /**
   * Rotate queries or keys x [B, T, H, D] by their positions (called for both, in every self-attention layer; `role`
   * says which, for encodings that treat them differently, as xPos scales queries up and keys down).
   */
  rotate?(tape: Tape, x: Var, at: PositionTensors, role: RotationRole): Var;
  /**
   * Additive self-attention bias [H, t, t], computed once per forward and shared by every layer of the stack (as T5
   * shares its bias). It depends on index distance i - j, which inside a packed segment is the position distance.
   */
  attentionBias?(tape: Tape, t: number): Var;
  /**
   * Rows `firstQuery .. firstQuery + queries - 1` of the bias of a sequence with `keys` keys: [H, queries, keys], the
   * same values attentionBias(tape, keys) has there. Incremental decoding asks for the rows of the tokens it adds
   * against every cached key. An encoding with attentionBias but without this method serves only full forwards:
   * models fall back to re-running the whole sequence (architecture.ts, Model.startDecoding).
   */
  attentionBiasRows?(tape: Tape, firstQuery: number, queries: number, keys: number): Var;
}

/** What a spec says about how the model is used, for checks that depend on it (a table long enough for seqLen). */
export interface PositionalUse {
  architecture: string;
  /** The position dimensions the architecture reads (ArchitecturePlugin.consumes.positionDims). */
  positionDims: PositionDims;
  /** Longest sequence the model reads (decoder and encoder alike). */
  seqLen: number;
  /** The architecture's declared attention (ArchitecturePlugin.attention); absent: 'mixed'. */
  attention?: AttentionPattern;
}

/**
 * A positional-encoding plugin: a plain object, like every unilab plugin. It declares the position dimensions it
 * encodes and the attention patterns it serves; which architectures it fits follows from theirs (capabilities.ts).
 */
export interface PositionalEncodingPlugin<C = Record<string, unknown>> {
  readonly kind: 'positional-encoding';
  readonly name: string;
  readonly description: string;
  readonly configSchema: Schema<C>;
  /** 1: batch.positions; 2: positions and blockPositions (GLM). An architecture reading other dimensions refuses it. */
  readonly positionDims: PositionDims;
  /**
   * The attention patterns it can serve (absent: every pattern). An encoding that gives no position information
   * serves only 'causal': bidirectional attention is permutation-invariant, so a prefix read both ways loses order.
   */
  readonly attention?: readonly AttentionPattern[];
  /** A problem with this config for this use (e.g. a table shorter than seqLen), or null. */
  check?(config: C, use: PositionalUse): string | null;
  create(config: C, stack: PositionalStack): PositionalEncoding;
}

/** How an architecture's config names its encoding: `"alibi"` or `{ "name": "rope", "config": { "base": 500000 } }`. */
export interface PositionalEncodingChoice {
  name: string;
  config: Record<string, unknown>;
}

const choiceObject = object({ name: field(string({ nonEmpty: true })), config: field(json(), {}) });

/** Schema of the `positionalEncoding` field of an architecture config; the named plugin validates `config` later. */
export function positionalEncodingChoice(): Schema<PositionalEncodingChoice> {
  return {
    describe: 'an encoding name or { name, config }',
    parse(value, path) {
      if (typeof value === 'string') return choiceObject.parse({ name: value }, path);
      return choiceObject.parse(value, path);
    },
  };
}

/** The encoding an (already parsed) architecture config chooses, if its architecture takes one. */
export function chosenPositionalEncoding(config: unknown): PositionalEncodingChoice | undefined {
  const choice = (config as { positionalEncoding?: PositionalEncodingChoice } | null)?.positionalEncoding;
  return choice && typeof choice.name === 'string' ? choice : undefined;
}

/** Why `plugin` cannot serve `use`, or null when it can: position dimensions first, then the attention pattern. */
export function encodingMismatch(plugin: PositionalEncodingPlugin<any>, use: Pick<PositionalUse, 'positionDims' | 'attention'>): string | null {
  const dims = positionDimsMismatch(plugin.positionDims, use.positionDims);
  if (dims) return dims;
  const attention = use.attention ?? 'mixed';
  if (plugin.attention && !plugin.attention.includes(attention))
    return `it serves ${plugin.attention.join(' or ')} attention and the model's is ${attention}${attention === 'causal' ? '' : ' (without positions only a causal mask reveals order: bidirectional attention is permutation-invariant)'}`;
  return null;
}

/**
 * Check an architecture × encoding pair and the encoding's config, the way spec validation does. The error says why
 * the pair cannot work and what would: the encodings that serve this architecture.
 */
export function checkPositionalEncoding(
  choice: PositionalEncodingChoice,
  use: PositionalUse,
  encodings: readonly PositionalEncodingPlugin<any>[],
  path: string,
): void {
  const plugin = encodings.find((p) => p.name === choice.name);
  if (!plugin)
    throw new SpecError(`${path}.name`, `unknown positional encoding "${choice.name}"; available: ${encodings.map((p) => p.name).join(', ')}`);
  const why = encodingMismatch(plugin, use);
  if (why) {
    const fitting = encodings.filter((p) => !encodingMismatch(p, use)).map((p) => p.name);
    throw new SpecError(
      `${path}.name`,
      `positional encoding "${plugin.name}" cannot serve architecture "${use.architecture}": ${why}. With ${use.architecture} use ${fitting.join(', ') || 'no registered encoding'}`,
    );
  }
  const config = plugin.configSchema.parse(choice.config, `${path}.config`);
  const problem = plugin.check?.(config, use);
  if (problem) throw new SpecError(`${path}.config`, problem);
}
