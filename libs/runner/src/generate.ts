import { Rng, restoreTensors, sampleToken, type Backend, type ContinuationLayout, type Model, type PluginRegistry, type SamplingOptions, type Tokenizer, type TuningModules } from '@unilab/core';
import { tokenizerFromJSON } from '@unilab/data';
import { createBackend } from './backends.ts';
import { readCheckpoint } from './checkpoint-files.ts';
import { ContextWindow } from './inference/context-window.ts';
import { cachedLogits, fullForwardLogits, type NextTokenLogits } from './inference/next-token-logits.ts';
import { layoutTokenNames, modelPresentation, type ModelPresentation, type Presented } from './inference/presentation.ts';
import { encodePrompt, promptSpecials, specialTokenList, type Prompt } from './inference/prompt.ts';
import { objectiveLabel } from './objective-mixture.ts';
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
  /** How the model reads prompts (from its objective's declarations); generation needs it. */
  presentation: ModelPresentation;
}

/** A model built in this process (a training run's) with what inference needs to know about its training. */
export function loadedModel(model: Model, tokenizer: Tokenizer, backend: Backend, spec: TrainingSpec, registry: PluginRegistry): LoadedModel {
  const presentation = modelPresentation(spec.model.architecture, spec.objective, registry, tokenizer);
  return { model, tokenizer, backend, seqLen: spec.train.seqLen, spec, presentation };
}

/**
 * Rebuild a trained model from a checkpoint file (its spec, config and tokenizer are in the header), on `backend`
 * if given (one backend for many models: each WASM backend keeps the blocks it freed for reuse), else a new one of
 * the spec's kind.
 */
export async function loadModel(path: string, registry: PluginRegistry, backend?: Backend): Promise<LoadedModel> {
  const checkpoint = await readCheckpoint(path);
  const state = checkpoint.state as unknown as { spec: unknown; tokenizer: Record<string, unknown>; tuning?: TuningModules };
  const spec = parseTrainingSpec(state.spec);
  const tokenizer = tokenizerFromJSON(state.tokenizer);
  const on = backend ?? (await createBackend(spec.backend, spec.precision));
  // A checkpoint an alignment stage wrote with LoRA factors or adapters names them in `tuning`: rebuild them too.
  const model = buildModel(spec, registry, on, tokenizer.vocabSize, state.tuning);
  restoreTensors(on, checkpoint, model.params, null, `checkpoint ${path}`);
  return loadedModel(model, tokenizer, on, spec, registry);
}

export interface GenerateOptions extends SamplingOptions {
  maxTokens: number;
  seed: number;
  /** UL2's paradigm (NLU, NLG, S2S): the mode token that leads the input, for models trained with mode tokens. */
  mode?: string;
  /**
   * Decode with the model's key/value cache (default) or re-run the whole row for every token. Both give the same
   * tokens at temperature 0; the second is the reference the first is tested against.
   */
  cache?: boolean;
  /** Checked before every token: once aborted (the client went away), sampling stops and the text so far is returned. */
  signal?: Pick<AbortSignal, 'aborted'>;
}

/** A generation option the model cannot honour (a UL2 mode it was not trained with): the caller's mistake, not the model's. */
export class GenerationOptionError extends Error {
  constructor(
    readonly option: 'mode',
    message: string,
  ) {
    super(message);
    this.name = 'GenerationOptionError';
  }
}

/**
 * Whether a model can generate: one whose architecture honours no causal mask (a bidirectional encoder alone)
 * predicts no next token. Without a presentation it cannot tell; generationLayout then says what is missing.
 */
export function canGenerate(loaded: LoadedModel): boolean {
  return loaded.presentation?.consumes.masks.includes('causal') ?? true;
}

/** Whether models of this architecture can generate, asked of its plugin's declaration before any model is built. */
export function architectureGenerates(architecture: string, registry: PluginRegistry): boolean {
  return registry.architecture(architecture).consumes.masks.includes('causal');
}

/**
 * How generation lays out a prompt: the model's LM layout (a continuation, as its objective declared it), or with a
 * UL2 mode the layout of UL2's examples: the mode's token, the input, eos, then the target (Tay et al. 2022 §3.1.3).
 */
export function generationLayout(loaded: LoadedModel, mode?: string): Presented<ContinuationLayout> {
  const { presentation, model, tokenizer } = loaded;
  if (!presentation) throw new Error('generate: this LoadedModel has no presentation; build it with loadModel or loadedModel');
  const objective = objectiveLabel(loaded.spec.objective);
  if (mode === undefined) {
    if (presentation.lm) return presentation.lm;
    throw new Error(`cannot generate with the ${model.architecture} model trained by ${objective}: its objective never taught it to continue a text`);
  }
  if (!presentation.modes)
    throw new GenerationOptionError('mode', `mode "${mode}": this model was trained with ${objective}, whose inputs carry no mode token (UL2 with modeTokens has NLU, NLG, S2S)`);
  const lead = presentation.modes[mode];
  if (!lead) throw new GenerationOptionError('mode', `mode "${mode}": expected one of ${Object.keys(presentation.modes).join(', ')}`);
  const layout: ContinuationLayout =
    presentation.consumes.form === 'encoder-decoder'
      ? { kind: 'encoder', inputPrefix: lead, inputSuffix: ['eos'], targetPrefix: [] }
      : { kind: 'prefix', inputPrefix: lead, inputSuffix: ['eos'], targetPrefix: [], glm2d: false };
  const ids: Record<string, number> = {};
  for (const name of layoutTokenNames(layout)) {
    const id = tokenizer.specialTokens[name];
    if (id === undefined) throw new GenerationOptionError('mode', `mode "${mode}": the model's tokenizer has no special token "${name}" (it has ${specialTokenList(tokenizer)})`);
    ids[name] = id;
  }
  return { layout, objective, ids, ...(presentation.causalModel && { causalModel: true }) };
}

/** The token that ends an answer: GLM's Part B spans end with [eop] (Du et al. 2022 §2.1), every other target with eos. */
export function stopToken(presented: Presented<ContinuationLayout>, tokenizer: Tokenizer): number {
  const glm = presented.layout.kind === 'prefix' && presented.layout.glm2d;
  const id = tokenizer.specialTokens[glm ? 'eop' : 'eos'];
  if (id === undefined) throw new Error(`the model's tokenizer has no "${glm ? 'eop' : 'eos'}" token to end an answer`);
  return id;
}

/**
 * Autoregressive sampling in the layout the model was trained with (inference/continuation-row.ts), inside its
 * context (inference/context-window.ts). Stops at the end token (eos; GLM's [eop]) or after maxTokens. Special tokens
 * cannot be generated except the end token and those the prompt names (T5-style sentinels pair up).
 * Returns only the continuation.
 */
export async function generate(loaded: LoadedModel, prompt: Prompt, options: GenerateOptions): Promise<string> {
  const { model, tokenizer, backend, seqLen } = loaded;
  if (!canGenerate(loaded))
    throw new Error(`cannot sample from architecture "${model.architecture}": a bidirectional encoder predicts no next token; train a decoding architecture`);
  const presented = generationLayout(loaded, options.mode);
  const stop = stopToken(presented, tokenizer);
  const window = new ContextWindow(presented, encodePrompt(tokenizer, prompt), seqLen);
  const allowed = new Set([stop, ...promptSpecials(prompt).map((name) => tokenizer.specialTokens[name])]);
  const banned = new Set(Object.values(tokenizer.specialTokens).filter((id) => !allowed.has(id)));
  const rng = new Rng(options.seed);
  const next: NextTokenLogits = (options.cache ?? true) ? (cachedLogits(model, backend, seqLen) ?? fullForwardLogits(model, backend)) : fullForwardLogits(model, backend);
  try {
    for (let n = 0; n < options.maxTokens && !options.signal?.aborted; n++) {
      const token = sampleToken(await next.logits(window.row()), options, rng, banned);
      if (token === stop) break;
      window.push(token);
    }
  } finally {
    next.dispose();
  }
  return tokenizer.decode(window.generated());
}
