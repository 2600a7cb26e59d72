import { Rng, Tape, restoreTensors, sampleToken, uploadBatch, type Backend, type Batch, type Model, type SamplingOptions, type Tokenizer } from '@unilab/core';
import { tokenizerFromJSON } from '@unilab/data';
import { createBackend } from './backends.ts';
import { readCheckpoint } from './checkpoint-files.ts';
import type { PluginRegistry } from '@unilab/core';
import { parseTrainingSpec, type TrainingSpec } from './spec.ts';
import { buildModel } from './run.ts';

export interface LoadedModel {
  model: Model;
  tokenizer: Tokenizer;
  backend: Backend;
  /** The context length the model was trained with. */
  seqLen: number;
  /** The spec the model was trained with (its objective says how the model reads prompts: inference/presentation.ts). */
  spec: TrainingSpec;
}

/**
 * Rebuild a trained model from a checkpoint file (its spec, config and tokenizer are in the header), on `backend`
 * if given (one backend for many models: each WASM backend keeps the blocks it freed for reuse), else a new one of
 * the spec's kind.
 */
export async function loadModel(path: string, registry: PluginRegistry, backend?: Backend): Promise<LoadedModel> {
  const checkpoint = await readCheckpoint(path);
  const state = checkpoint.state as unknown as { spec: unknown; tokenizer: Record<string, unknown> };
  const spec = parseTrainingSpec(state.spec);
  const tokenizer = tokenizerFromJSON(state.tokenizer);
  const on = backend ?? (await createBackend(spec.backend));
  const model = buildModel(spec, registry, on, tokenizer.vocabSize);
  restoreTensors(on, checkpoint, model.params, null, `checkpoint ${path}`);
  return { model, tokenizer, backend: on, seqLen: spec.train.seqLen, spec };
}

export interface GenerateOptions extends SamplingOptions {
  maxTokens: number;
  seed: number;
  /** Checked before every token: once aborted (the client went away), sampling stops and the text so far is returned. */
  signal?: Pick<AbortSignal, 'aborted'>;
}

/** Architectures `generate` can sample from, and how the prompt is presented to each. */
const PROMPT_AS = {
  /** Causal over prompt and continuation. */
  decoder: 'causal',
  /** The prompt is a bidirectional prefix, as these models saw their inputs in training (PaLM's partial attention). */
  'prefix-lm': 'prefix',
  unilm: 'prefix',
  /** The encoder reads the prompt; the decoder starts from pad (T5's start token) and continues. */
  'encoder-decoder': 'encoder',
} as const;

export function canGenerate(architecture: string): boolean {
  return architecture in PROMPT_AS;
}

/**
 * Autoregressive sampling: re-run the forward over the (cropped) context for every new token. Stops at eos or
 * maxTokens. Returns only the continuation.
 */
export async function generate(loaded: LoadedModel, prompt: string, options: GenerateOptions): Promise<string> {
  const { model, tokenizer, backend, seqLen } = loaded;
  const mode = PROMPT_AS[model.architecture as keyof typeof PROMPT_AS];
  if (!mode)
    throw new Error(
      `cannot sample from architecture "${model.architecture}": generation supports ${Object.keys(PROMPT_AS).join(', ')}`,
    );
  const rng = new Rng(options.seed);
  const eos = tokenizer.specialTokens.eos;
  const banned = new Set(Object.values(tokenizer.specialTokens).filter((id) => id !== eos));
  const promptTokens = Array.from(tokenizer.encode(prompt));
  const generated: number[] = [];
  for (let n = 0; n < options.maxTokens && !options.signal?.aborted; n++) {
    const batch = mode === 'encoder' ? encoderDecoderBatch(promptTokens, generated, tokenizer.specialTokens.pad, seqLen) : decoderBatch(promptTokens, generated, mode, seqLen);
    if (batch.seqLen === 0) break;
    const tape = new Tape(backend, false);
    let next: number;
    try {
      const logits = await backend.read(model.forward(tape, uploadBatch(tape, batch)).value);
      const v = tokenizer.vocabSize;
      next = sampleToken(logits.subarray((batch.seqLen - 1) * v, batch.seqLen * v), options, rng, banned);
    } finally {
      tape.release();
    }
    if (next === eos) break;
    generated.push(next);
  }
  return tokenizer.decode(generated);
}

function row(tokens: number[], prefixEnd: number): Batch {
  const t = tokens.length;
  return {
    batchSize: 1,
    seqLen: t,
    tokens: Int32Array.from(tokens),
    targets: new Int32Array(t),
    lossMask: new Float32Array(t),
    segmentIds: new Int32Array(t),
    prefixEnd: new Int32Array(t).fill(prefixEnd),
    positions: Int32Array.from({ length: t }, (_, i) => i),
  };
}

/** Prompt and continuation in one sequence, cropped to the last seqLen tokens. */
function decoderBatch(prompt: number[], generated: number[], mode: 'causal' | 'prefix', seqLen: number): Batch {
  const all = [...prompt, ...generated];
  const dropped = Math.max(0, all.length - seqLen);
  const promptInWindow = Math.max(0, prompt.length - dropped);
  return row(all.slice(dropped), mode === 'prefix' ? promptInWindow : 0);
}

/** The encoder reads the (cropped) prompt; the decoder reads [pad] + the continuation so far. */
function encoderDecoderBatch(prompt: number[], generated: number[], pad: number, seqLen: number): Batch {
  const source = prompt.slice(-seqLen);
  const batch = row([pad, ...generated].slice(-seqLen), 0);
  const e = source.length;
  batch.encoder = {
    tokens: Int32Array.from(source),
    encoderLen: e,
    segmentIds: new Int32Array(e),
    prefixEnd: new Int32Array(e).fill(e),
    positions: Int32Array.from({ length: e }, (_, i) => i),
  };
  return batch;
}
