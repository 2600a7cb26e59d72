import { join } from 'node:path';
import { decodeSafetensors, encodeCheckpoint, type NamedTensor, type Parameter, type PluginRegistry } from '@unilab/core';
import { tokenizerFromJSON } from '@unilab/data';
import { createBackend } from '../backends.ts';
import { readFileBytes, writeFileAtomic } from '../files.ts';
import { buildModel } from '../run.ts';
import { parseTrainingSpec, type TrainingSpec } from '../spec.ts';
import { readJsonFile } from './llama-export.ts';
import { fromHfLinear, llamaWeightPairs, type LlamaShape } from './llama-layout.ts';

/** config.json fields a LlamaForCausalLM can set that the unilab decoder cannot reproduce, with what it needs. */
function unsupported(c: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (c.model_type !== 'llama') out.push(`model_type ${JSON.stringify(c.model_type)} (need "llama")`);
  if ((c.hidden_act ?? 'silu') !== 'silu') out.push(`hidden_act ${JSON.stringify(c.hidden_act)} (need "silu": SwiGLU)`);
  if (c.rope_scaling != null) out.push(`rope_scaling ${JSON.stringify(c.rope_scaling)} (need null: unilab's RoPE is unscaled)`);
  if (c.attention_bias === true) out.push('attention_bias true (unilab attention has no biases)');
  if (c.mlp_bias === true) out.push('mlp_bias true (unilab feed-forward has no biases)');
  const hidden = c.hidden_size as number;
  const heads = c.num_attention_heads as number;
  if (c.head_dim !== undefined && c.head_dim !== hidden / heads) out.push(`head_dim ${c.head_dim} (need hidden_size / num_attention_heads = ${hidden / heads})`);
  return out;
}

function positiveInteger(c: Record<string, unknown>, field: string, fallback?: number): number {
  const v = c[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`config.json: ${field} must be a positive integer; got ${JSON.stringify(c[field])}`);
  return v;
}

export interface HfImport {
  spec: TrainingSpec;
  parameters: number;
}

/**
 * Read a transformers LlamaForCausalLM directory (config.json, model.safetensors in float32, tokenizer.json of a
 * byte-level BPE in any id layout) and write a unilab checkpoint of the equivalent `decoder`: step 0, no optimizer moments, so that
 * `unilab train --init-from` continues training it with a fresh AdamW and `unilab generate` samples from it.
 */
export async function importLlama(dir: string, outPath: string, registry: PluginRegistry, specOverrides: Record<string, unknown> = {}): Promise<HfImport> {
  const c = await readJsonFile(join(dir, 'config.json'), 'config.json');
  const problems = unsupported(c);
  if (problems.length > 0) throw new Error(`cannot import ${dir} as a unilab decoder: ${problems.join('; ')}`);
  const tokenizer = tokenizerFromJSON(await readJsonFile(join(dir, 'tokenizer.json'), 'tokenizer.json'));
  const shape: LlamaShape = {
    layers: positiveInteger(c, 'num_hidden_layers'),
    dModel: positiveInteger(c, 'hidden_size'),
    heads: positiveInteger(c, 'num_attention_heads'),
    kvHeads: positiveInteger(c, 'num_key_value_heads', c.num_attention_heads as number),
    ffnHidden: positiveInteger(c, 'intermediate_size'),
    vocabSize: positiveInteger(c, 'vocab_size'),
    tieEmbeddings: c.tie_word_embeddings === true,
  };
  if (shape.vocabSize !== tokenizer.vocabSize)
    throw new Error(`config.json: vocab_size ${shape.vocabSize} differs from tokenizer.json's ${tokenizer.vocabSize} tokens`);
  const eps = typeof c.rms_norm_eps === 'number' ? c.rms_norm_eps : 1e-6;
  const base = typeof c.rope_theta === 'number' ? c.rope_theta : 10000;
  const seqLen = typeof c.max_position_embeddings === 'number' ? Math.min(c.max_position_embeddings, 4096) : 256;
  const spec = parseTrainingSpec({
    name: 'imported',
    backend: 'wasm',
    ...specOverrides,
    model: {
      architecture: 'decoder',
      config: {
        layers: shape.layers,
        dModel: shape.dModel,
        heads: shape.heads,
        kvHeads: shape.kvHeads,
        ffnHidden: shape.ffnHidden,
        normEps: eps,
        tieEmbeddings: shape.tieEmbeddings,
        positionalEncoding: { name: 'rope', config: { base } },
      },
    },
    train: { seqLen, ...((specOverrides.train as object | undefined) ?? {}) },
  });

  const weightsPath = join(dir, 'model.safetensors');
  let tensors: Map<string, NamedTensor>;
  try {
    tensors = decodeSafetensors(await readFileBytes(weightsPath, 'model.safetensors'), weightsPath).tensors;
  } catch (err) {
    const hint = /dtype/.test((err as Error).message) ? ' (save the model in float32: model.float().save_pretrained(DIR))' : '';
    throw new Error(`${(err as Error).message}${hint}`);
  }
  const headDim = shape.dModel / shape.heads;
  // Every tensor is checked against config.json before any memory is spent on the model.
  const pairs = llamaWeightPairs(shape);
  for (const pair of pairs) {
    const t = tensors.get(pair.hf);
    if (!t) throw new Error(`${weightsPath} has no tensor ${pair.hf}`);
    const want = pair.kind === 'linear' ? [pair.shape[1], pair.shape[0]] : pair.shape;
    if (t.shape.join(',') !== want.join(',')) throw new Error(`${weightsPath}: ${pair.hf} has shape [${t.shape}], config.json implies [${want}]`);
  }
  const backend = await createBackend('reference');
  const model = buildModel(spec, registry, backend, tokenizer.vocabSize);
  const byName = new Map<string, Parameter>(model.params.map((p) => [p.name, p]));
  for (const pair of pairs) {
    const t = tensors.get(pair.hf)!;
    const p = byName.get(pair.unilab);
    if (!p) throw new Error(`the unilab decoder has no parameter ${pair.unilab}`);
    const data = pair.kind === 'copy' ? (t.data as Float32Array) : fromHfLinear(t.data as Float32Array, ...(pair.shape as [number, number]), pair.rope ? headDim : undefined);
    backend.write(p.value, data);
  }
  const known = new Set(pairs.map((p) => p.hf));
  // A tied model may still save the head (the same values as the embeddings).
  if (shape.tieEmbeddings) known.add('lm_head.weight');
  // Buffers transformers may save alongside the weights; they carry no learned values.
  const unknown = [...tensors.keys()].filter((k) => !known.has(k) && !k.endsWith('rotary_emb.inv_freq'));
  if (unknown.length > 0) throw new Error(`${weightsPath} has tensors a LLaMA decoder does not use: ${unknown.slice(0, 5).join(', ')}`);
  const bytes = await encodeCheckpoint(backend, model.params, null, {
    step: 0,
    spec,
    model: { architecture: model.architecture, config: model.config },
    tokenizer: tokenizer.toJSON(),
    importedFrom: dir,
  });
  await writeFileAtomic(outPath, bytes);
  return { spec, parameters: model.params.reduce((n, p) => n + p.value.size, 0) };
}
