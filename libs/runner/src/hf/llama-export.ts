import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeSafetensors, type DecodedCheckpoint, type NamedTensor, type PluginRegistry, type Tokenizer } from '@unilab/core';
import { BpeTokenizer, HfByteLevelBpeTokenizer, tokenizerFromJSON } from '@unilab/data';
import { readCheckpoint } from '../checkpoint-files.ts';
import { writeFileAtomic } from '../files.ts';
import { parseTrainingSpec, type TrainingSpec } from '../spec.ts';
import { llamaWeightPairs, toHfLinear, type LlamaShape } from './llama-layout.ts';

/**
 * Why no transformers class reproduces each other architecture exactly (completes "cannot export <arch>: ...").
 * An export that loads but computes something else would be worse than none.
 */
const NO_MATCH: Record<string, string> = {
  'prefix-lm':
    'its prefix attends bidirectionally; transformers has no LLaMA-family causal LM with a bidirectional prefix mask (a LlamaForCausalLM would run it fully causal and give different logits)',
  unilm: 'its mask switches per batch between bidirectional, causal and seq2seq (UniLM); no transformers class takes that mask from the inputs',
  glm: "it reads GLM's 2D positions (span positions and block positions); transformers' GLM classes are the GLM-4 chat models, a different network",
  encoder:
    "it is a bidirectional encoder with LLaMA blocks (RMSNorm, SwiGLU, RoPE); transformers' encoders (BertModel, RobertaModel) use LayerNorm, GELU and learned absolute positions",
  'encoder-decoder':
    "its blocks are unilab's configurable ones (RMSNorm/SwiGLU/RoPE by default); T5ForConditionalGeneration needs T5's relative-position buckets, ReLU/gated-GELU and no RoPE, and the options rarely line up exactly",
};

/** The unilab decoder options a LlamaForCausalLM cannot express, as "field: value (need ...)". */
function llamaMismatches(config: Record<string, unknown>): string[] {
  const out: string[] = [];
  const need = (field: string, want: unknown) => {
    if (config[field] !== want) out.push(`${field} ${JSON.stringify(config[field])} (LlamaForCausalLM needs ${JSON.stringify(want)})`);
  };
  need('norm', 'rmsnorm');
  need('normPlacement', 'pre');
  need('activation', 'swiglu');
  const enc = config.positionalEncoding as { name: string } | undefined;
  if (enc?.name !== 'rope') out.push(`positionalEncoding ${JSON.stringify(enc?.name)} (LlamaForCausalLM needs "rope")`);
  return out;
}

/** A tokenizer as the byte-level BPE that `tokenizers` loads: the byte tokenizer is a BPE without merges. */
function asBpe(tokenizer: Tokenizer): BpeTokenizer | HfByteLevelBpeTokenizer {
  if (tokenizer instanceof BpeTokenizer) return tokenizer;
  const names = Object.entries(tokenizer.specialTokens)
    .sort((a, b) => a[1] - b[1])
    .map(([name]) => name);
  const bpe = new BpeTokenizer({ specials: names, merges: [] });
  for (const [name, id] of Object.entries(tokenizer.specialTokens))
    if (bpe.specialTokens[name] !== id) throw new Error(`tokenizer: special token "${name}" has id ${id}, which a byte-level BPE cannot keep`);
  return bpe;
}

/**
 * Merges as "left right" strings, the form every `tokenizers` release reads (pairs [left, right] need 0.20+).
 * Byte-level token strings never contain a space (the byte 0x20 is spelled "Ġ"), so the split is unambiguous.
 */
function withStringMerges(json: Record<string, unknown>): Record<string, unknown> {
  const model = json.model as { merges: [string, string][] };
  return { ...json, model: { ...model, merges: model.merges.map(([l, r]) => `${l} ${r}`) } };
}

export interface HfExport {
  files: string[];
  config: Record<string, unknown>;
}

/**
 * Write a unilab `decoder` checkpoint as a transformers LlamaForCausalLM directory: config.json, model.safetensors
 * (float32, transformers' names and layouts: llama-layout.ts), generation_config.json, tokenizer.json and
 * tokenizer_config.json. Other architectures are refused with the reason no transformers class matches.
 */
export async function exportLlama(checkpointPath: string, outDir: string, registry: PluginRegistry): Promise<HfExport> {
  const checkpoint = await readCheckpoint(checkpointPath);
  const state = checkpoint.state as unknown as { spec: unknown; tokenizer: Record<string, unknown> };
  const spec: TrainingSpec = parseTrainingSpec(state.spec);
  const config = exportableConfig(spec, checkpoint, registry);
  const read = tokenizerFromJSON(state.tokenizer);
  // A tokenizer read from a Hugging Face file goes back as it came; unilab's own are written in the form every
  // `tokenizers` release reads.
  const tokenizer = read instanceof HfByteLevelBpeTokenizer ? read : asBpe(read);
  const tokenizerJson = read instanceof HfByteLevelBpeTokenizer ? read.toJSON() : withStringMerges(tokenizer.toJSON());
  const contentOf = new Map(((tokenizerJson.added_tokens ?? []) as { id: number; content: string }[]).map((t) => [t.id, t.content]));
  const special = (name: string) => contentOf.get(tokenizer.specialTokens[name]) ?? null;
  const tensors = llamaTensors(checkpoint, checkpointPath, { ...config, vocabSize: tokenizer.vocabSize });
  const hfConfig = llamaConfig(config, tokenizer, spec.train.seqLen);
  const { eos, pad } = tokenizer.specialTokens;
  const generationConfig = { bos_token_id: eos, eos_token_id: eos, pad_token_id: pad, do_sample: false };
  await mkdir(outDir, { recursive: true });
  const json = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  const files: [string, Uint8Array][] = [
    ['config.json', json(hfConfig)],
    ['generation_config.json', json(generationConfig)],
    ['model.safetensors', encodeSafetensors(tensors, { format: 'pt' })],
    ['tokenizer.json', json(tokenizerJson)],
    ['tokenizer_config.json', json(tokenizerConfig(contentOf, eos, pad, special, spec.train.seqLen))],
    ['special_tokens_map.json', json({ eos_token: special('eos'), pad_token: special('pad') })],
  ];
  for (const [name, bytes] of files) await writeFileAtomic(join(outDir, name), bytes);
  return { files: files.map(([name]) => join(outDir, name)), config: hfConfig };
}

/** The decoder config a checkpoint was trained with, refused unless LlamaForCausalLM computes exactly the same. */
function exportableConfig(spec: TrainingSpec, checkpoint: DecodedCheckpoint, registry: PluginRegistry): ExportedConfig {
  const arch = spec.model.architecture;
  if (arch !== 'decoder') {
    const why = NO_MATCH[arch] ?? 'only the LLaMA-style decoder has an exact transformers counterpart (LlamaForCausalLM)';
    throw new Error(`cannot export architecture "${arch}" to Hugging Face format: ${why}`);
  }
  const config = registry.architecture(arch).configSchema.parse(spec.model.config, 'spec.model.config') as unknown as ExportedConfig;
  const mismatches = llamaMismatches(config);
  if (mismatches.length > 0) throw new Error(`cannot export this decoder as LlamaForCausalLM: ${mismatches.join('; ')}`);
  if (checkpoint.tensors.has('param/layers.0.wq.lora_a') || [...checkpoint.tensors.keys()].some((k) => /adapter|lora/.test(k)))
    throw new Error('cannot export a checkpoint with LoRA or adapter weights: merge them into the base weights first');
  return config;
}

type ExportedConfig = Record<string, unknown> & {
  layers: number;
  dModel: number;
  heads: number;
  kvHeads: number;
  ffnHidden: number;
  normEps: number;
  tieEmbeddings: boolean;
  positionalEncoding: { name: string; config?: { base?: number } };
};

/** The checkpoint's weights under transformers' names and layouts (llama-layout.ts), each checked for its shape. */
function llamaTensors(checkpoint: DecodedCheckpoint, checkpointPath: string, shape: LlamaShape): NamedTensor[] {
  const headDim = shape.dModel / shape.heads;
  return llamaWeightPairs(shape).map((pair) => {
    const t = checkpoint.tensors.get(`param/${pair.unilab}`);
    if (!t) throw new Error(`checkpoint ${checkpointPath} has no parameter ${pair.unilab}`);
    const want = pair.shape.join(',');
    if (t.shape.join(',') !== want) throw new Error(`checkpoint ${checkpointPath}: ${pair.unilab} has shape [${t.shape}], expected [${want}]`);
    if (pair.kind === 'copy') return { name: pair.hf, shape: t.shape, data: t.data };
    const [inDim, outDim] = pair.shape as [number, number];
    return { name: pair.hf, shape: [outDim, inDim], data: toHfLinear(t.data as Float32Array, inDim, outDim, pair.rope ? headDim : undefined) };
  });
}

/** config.json of a LlamaForCausalLM with the decoder's shape. */
function llamaConfig(config: ExportedConfig, tokenizer: { vocabSize: number; specialTokens: Record<string, number> }, seqLen: number) {
  const eos = tokenizer.specialTokens.eos;
  const pad = tokenizer.specialTokens.pad;
  const headDim = config.dModel / config.heads;
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: tokenizer.vocabSize,
    hidden_size: config.dModel,
    intermediate_size: config.ffnHidden,
    num_hidden_layers: config.layers,
    num_attention_heads: config.heads,
    num_key_value_heads: config.kvHeads,
    head_dim: headDim,
    hidden_act: 'silu',
    max_position_embeddings: seqLen,
    rms_norm_eps: config.normEps,
    rope_theta: config.positionalEncoding.config?.base ?? 10000,
    rope_scaling: null,
    attention_bias: false,
    attention_dropout: 0,
    mlp_bias: false,
    tie_word_embeddings: config.tieEmbeddings,
    initializer_range: 0.02,
    pretraining_tp: 1,
    use_cache: true,
    // unilab starts sequences with no BOS token; eos doubles as BOS so that transformers' defaults stay valid.
    bos_token_id: eos,
    eos_token_id: eos,
    pad_token_id: pad,
    torch_dtype: 'float32',
  };
}

/** tokenizer_config.json: the special tokens by content, none added around a text (unilab adds no BOS). */
function tokenizerConfig(contentOf: ReadonlyMap<number, string>, eos: number, pad: number, special: (name: string) => string | null, seqLen: number) {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: seqLen,
    bos_token: null,
    eos_token: special('eos'),
    pad_token: special('pad'),
    unk_token: null,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    additional_special_tokens: [...contentOf.entries()].filter(([id]) => id !== eos && id !== pad).map(([, content]) => content),
    added_tokens_decoder: Object.fromEntries(
      [...contentOf.entries()].map(([id, content]) => [String(id), { content, lstrip: false, rstrip: false, normalized: false, single_word: false, special: true }]),
    ),
  };
}

export async function readJsonFile(path: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new Error(`${what}: ${path} does not exist or cannot be read`);
  }
  try {
    const value = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value;
  } catch (err) {
    throw new Error(`${what}: ${path} is not a JSON object (${(err as Error).message})`);
  }
}
