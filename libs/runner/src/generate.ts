import { Rng, restoreTensors, sampleToken, type Backend, type InferenceLayout, type Model, type PluginRegistry, type SamplingOptions, type Tokenizer } from '@unilab/core';
import { tokenizerFromJSON } from '@unilab/data';
import { createBackend } from './backends.ts';
import { readCheckpoint } from './checkpoint-files.ts';
import { ContextWindow } from './inference/context-window.ts';
import { cachedLogits, fullForwardLogits, type NextTokenLogits } from './inference/next-token-logits.ts';
import { encodePrompt, promptSpecials, type Prompt } from './inference/prompt.ts';
import { inferenceLayout, resolvePromptFormat } from './inference/prompt-format.ts';
import { objectiveLabel } from './objective-mixture.ts';
import { parseTrainingSpec, type TrainingSpec } from './spec.ts';
import { buildModel } from './run.ts';

export interface LoadedModel {
  model: Model;
  tokenizer: Tokenizer;
  backend: Backend;
  /** The context length the model was trained with. */
  seqLen: number;
  /** How its objective presented inputs in training (the objective's declaration): prompts are laid out the same way. */
  layout: InferenceLayout;
  /** The objective it was trained with, for messages ("clm", "clm 75% + ul2 25%"). */
  objective: string;
}

/** A model built in this process (a training run's) with what generation needs to know about its training. */
export function loadedModel(model: Model, tokenizer: Tokenizer, backend: Backend, spec: TrainingSpec, registry: PluginRegistry): LoadedModel {
  return {
    model,
    tokenizer,
    backend,
    seqLen: spec.train.seqLen,
    layout: inferenceLayout(spec.objective, spec.model.architecture, registry),
    objective: objectiveLabel(spec.objective),
  };
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
  return loadedModel(model, tokenizer, backend, spec, registry);
}

export interface GenerateOptions extends SamplingOptions {
  maxTokens: number;
  seed: number;
  /** UL2's paradigm (NLU, NLG, S2S): the mode token that leads the input, for models trained with mode tokens. */
  mode?: string;
  /**
   * Decode with the model's key/value cache (default) or re-run the whole sequence for every token. Both give the
   * same tokens at temperature 0; the second is the reference the first is tested against.
   */
  cache?: boolean;
}

/** Architectures that cannot generate: a bidirectional encoder alone has no next token to predict. */
export function canGenerate(architecture: string): boolean {
  return architecture !== 'encoder';
}

/**
 * Autoregressive sampling in the layout the model was trained with (inference/prompt-format.ts), inside its context
 * (inference/context-window.ts). Stops at the layout's end token (eos; GLM's [eop]) or after maxTokens. Special
 * tokens cannot be generated except the end token and those the prompt names (T5-style sentinels pair up).
 * Returns only the continuation.
 */
export async function generate(loaded: LoadedModel, prompt: Prompt, options: GenerateOptions): Promise<string> {
  const { model, tokenizer, backend, seqLen } = loaded;
  if (!canGenerate(model.architecture))
    throw new Error(`cannot sample from architecture "${model.architecture}": a bidirectional encoder predicts no next token; train a decoding architecture`);
  const format = resolvePromptFormat({ layout: loaded.layout, objective: loaded.objective, encoderDecoder: model.architecture === 'encoder-decoder', tokenizer, mode: options.mode });
  const window = new ContextWindow(format, encodePrompt(tokenizer, prompt), seqLen);
  const allowed = new Set([format.stop, ...promptSpecials(prompt).map((name) => tokenizer.specialTokens[name])]);
  const banned = new Set(Object.values(tokenizer.specialTokens).filter((id) => !allowed.has(id)));
  const rng = new Rng(options.seed);
  const next: NextTokenLogits = (options.cache ?? true) ? (cachedLogits(model, backend, seqLen) ?? fullForwardLogits(model, backend)) : fullForwardLogits(model, backend);
  try {
    for (let n = 0; n < options.maxTokens; n++) {
      const token = sampleToken(await next.logits(window.row()), options, rng, banned);
      if (token === format.stop) break;
      window.push(token);
    }
  } finally {
    next.dispose();
  }
  return tokenizer.decode(window.generated());
}
