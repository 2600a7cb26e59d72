import { Rng, Tape, restoreTensors, sampleToken, uploadBatch, type Backend, type Batch, type Model, type SamplingOptions, type Tokenizer } from '@unilab/core';
import { tokenizerFromJSON } from '@unilab/data';
import { createBackend } from './backends.ts';
import { readCheckpoint } from './checkpoint-files.ts';
import type { PluginRegistry } from '@unilab/core';
import { parseTrainingSpec } from './spec.ts';
import { buildModel } from './run.ts';

export interface LoadedModel {
  model: Model;
  tokenizer: Tokenizer;
  backend: Backend;
  /** The context length the model was trained with. */
  seqLen: number;
}

/** Rebuild a trained model from a checkpoint file (its spec, config and tokenizer are in the header). */
export async function loadModel(path: string, registry: PluginRegistry): Promise<LoadedModel> {
  const checkpoint = await readCheckpoint(path);
  const state = checkpoint.state as unknown as { spec: unknown; tokenizer: Record<string, unknown> };
  const spec = parseTrainingSpec(state.spec);
  const tokenizer = tokenizerFromJSON(state.tokenizer);
  const backend = await createBackend(spec.backend);
  const model = buildModel(spec, registry, backend, tokenizer.vocabSize);
  restoreTensors(backend, checkpoint, model.params, null, `checkpoint ${path}`);
  return { model, tokenizer, backend, seqLen: spec.train.seqLen };
}

export interface GenerateOptions extends SamplingOptions {
  maxTokens: number;
  seed: number;
}

/**
 * Autoregressive sampling from a causal model: re-run the forward over the (cropped) context for every new token.
 * Stops at eos or maxTokens. Returns only the continuation.
 */
export async function generate(loaded: LoadedModel, prompt: string, options: GenerateOptions): Promise<string> {
  const { model, tokenizer, backend, seqLen } = loaded;
  const rng = new Rng(options.seed);
  const eos = tokenizer.specialTokens.eos;
  const banned = new Set(Object.values(tokenizer.specialTokens).filter((id) => id !== eos));
  const context = Array.from(tokenizer.encode(prompt));
  const generated: number[] = [];
  for (let n = 0; n < options.maxTokens; n++) {
    const window = context.slice(-seqLen);
    const t = window.length;
    if (t === 0) break;
    const batch: Batch = {
      batchSize: 1,
      seqLen: t,
      tokens: Int32Array.from(window),
      targets: new Int32Array(t),
      lossMask: new Float32Array(t),
      segmentIds: new Int32Array(t),
      prefixEnd: new Int32Array(t),
      positions: Int32Array.from({ length: t }, (_, i) => i),
    };
    const tape = new Tape(backend, false);
    let next: number;
    try {
      const logits = await backend.read(model.forward(tape, uploadBatch(tape, batch)).value);
      const v = tokenizer.vocabSize;
      next = sampleToken(logits.subarray((t - 1) * v, t * v), options, rng, banned);
    } finally {
      tape.release();
    }
    if (next === eos) break;
    context.push(next);
    generated.push(next);
  }
  return tokenizer.decode(generated);
}
