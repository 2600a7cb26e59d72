import {
  AdamW,
  Rng,
  SpecError,
  Trainer,
  encodeCheckpoint,
  parameterCount,
  restoreTensors,
  checkPositionalEncoding,
  chosenPositionalEncoding,
  disposeParameters,
  type Backend,
  type Batch,
  type DecodedCheckpoint,
  type DocumentStream,
  type Model,
  type PluginRegistry,
  type StepResult,
  type Tokenizer,
  type TuningModules,
} from '@unilab/core';
import { ByteTokenizer } from '@unilab/data';
import { createBackend } from './backends.ts';
import { latestCheckpoint, listCheckpoints, readCheckpoint, saveCheckpoint } from './checkpoint-files.ts';
import { inMemoryData, prepareData, prepareShardData, type PreparedData, type TrainingData } from './data.ts';
import { checkFiniteStep } from './divergence.ts';
import { resolveTuning } from './lora-targets.ts';
import { estimateStepFlops } from './estimate.ts';
import { yieldToEventLoop } from './event-loop.ts';
import { createObjectiveBatcher, objectiveDecoderLength, objectiveSpecialTokens, validateObjective } from './objective-mixture.ts';
import type { RunEvent } from './run-events.ts';
import type { TrainingSpec } from './spec.ts';

export interface RunOptions {
  spec: TrainingSpec;
  outDir: string;
  registry: PluginRegistry;
  /** Continue from the newest intact checkpoint in outDir. */
  resume?: boolean;
  onEvent?(event: RunEvent): void;
  /** Stop after this many steps of the run (simulates an interruption in tests); the schedule still spans train.steps. */
  stopAtStep?: number;
  /** Use this backend instead of creating the spec's. */
  backend?: Backend;
  /** Stop cleanly between steps once aborted: the step in flight finishes, then evaluation and a checkpoint as at the end. */
  signal?: AbortSignal;
  /** A fresh run starts from this checkpoint's parameters (a stage continuing the previous stage's model). */
  initFrom?: string;
  /** Already prepared data (a mixture of corpora) instead of reading spec.data.corpus. */
  data?: PreparedData;
  /**
   * The byte tokenizer to use instead of the spec's own: a staged job's, which reserves the special tokens of every
   * stage's objectives so that all stages share one vocabulary (and one embedding shape).
   */
  tokenizer?: Tokenizer;
}

export interface RunResult {
  step: number;
  /** Training loss of every step this invocation ran. */
  losses: number[];
  heldOutLoss: number;
  unigramEntropy: number;
  /** Training FLOPs spent from step 0 to the last step (resumed steps included), or null when unknown. */
  flops: number | null;
  checkpoint: string | null;
  model: Model;
  tokenizer: Tokenizer;
  backend: Backend;
  /** Free the model's parameters and the optimizer's moments (a process that trains many runs on one backend, as a sweep does, calls it after each). */
  dispose(): void;
}

/** Build the tokenizer a spec's objective needs (every component's special tokens, for a mixture). */
export function tokenizerFor(spec: TrainingSpec, registry: PluginRegistry): ByteTokenizer {
  return new ByteTokenizer(objectiveSpecialTokens([spec.objective], registry));
}

/**
 * Build the model of a spec (validating the architecture's config) on a backend; `tuning` adds LoRA (its targets
 * roles or the architecture's projection names, resolved here: lora-targets.ts) or adapters.
 */
export function buildModel(spec: TrainingSpec, registry: PluginRegistry, backend: Backend, vocabSize: number, tuning?: TuningModules): Model {
  const arch = registry.architecture(spec.model.architecture);
  const config = arch.configSchema.parse(spec.model.config, 'spec.model.config');
  const modules = resolveTuning(spec, registry, tuning);
  return arch.create(config, { backend, vocabSize, rng: new Rng(spec.seed), positionalEncoding: (name) => registry.positionalEncoding(name), tuning: modules });
}

/** Check that the plugins a spec names exist and fit together, before any work starts. */
export function validateSpecPlugins(spec: TrainingSpec, registry: PluginRegistry): void {
  const archNames = registry.names('architecture');
  if (!archNames.includes(spec.model.architecture))
    throw new SpecError('spec.model.architecture', `unknown architecture "${spec.model.architecture}"; available: ${archNames.join(', ')}`);
  validateObjective(spec.objective, spec.model.architecture, registry, 'spec.objective');
  const architecture = registry.architecture(spec.model.architecture);
  if (spec.train.decoderLen !== undefined && architecture.consumes.form !== 'encoder-decoder')
    throw new SpecError('spec.train.decoderLen', `only an encoder-decoder has decoder rows of their own; ${spec.model.architecture} reads seqLen positions (remove decoderLen)`);
  const archConfig = architecture.configSchema.parse(spec.model.config, 'spec.model.config');
  // An architecture × positional-encoding pair that cannot work is refused here, with why and what would work.
  const encoding = chosenPositionalEncoding(archConfig);
  if (encoding)
    checkPositionalEncoding(
      encoding,
      { architecture: spec.model.architecture, seqLen: spec.train.seqLen, attention: architecture.attention, positionDims: architecture.consumes.positionDims },
      registry.ofKind('positional-encoding'),
      'spec.model.config.positionalEncoding',
    );
}

/**
 * The row shapes a spec trains on: seqLen positions for a one-stack model; for an encoder-decoder, seqLen encoder
 * positions and train.decoderLen (else the objective's own need) decoder positions, so the decoder does not compute
 * padding an L-token target would never fill (T5 §3.1.4: 512 inputs, 114 targets).
 */
export function rowShape(spec: TrainingSpec, registry: PluginRegistry): { seqLen: number; encoderLen?: number } {
  if (registry.architecture(spec.model.architecture).consumes.form !== 'encoder-decoder') return { seqLen: spec.train.seqLen };
  const decoderLen = spec.train.decoderLen ?? objectiveDecoderLength(spec.objective, registry, spec.train.seqLen);
  return { seqLen: decoderLen, encoderLen: spec.train.seqLen };
}

function makeBatcher(spec: TrainingSpec, registry: PluginRegistry, tokenizer: Tokenizer, documents: DocumentStream, seed: number) {
  const shape = rowShape(spec, registry);
  const context = {
    batchSize: spec.train.batchSize,
    seqLen: shape.seqLen,
    encoderLen: shape.encoderLen ?? spec.train.seqLen,
    vocabSize: tokenizer.vocabSize,
    specialTokens: tokenizer.specialTokens,
    form: registry.architecture(spec.model.architecture).consumes.form,
  };
  return createObjectiveBatcher(spec.objective, registry, context, documents, seed);
}

/**
 * Fixed held-out batches: the same for every evaluation and every resumed run (a mixture's held-out batches come
 * from its components at its rates, drawn once with the held-out seed).
 */
function heldOutBatches(spec: TrainingSpec, registry: PluginRegistry, tokenizer: Tokenizer, data: TrainingData): Batch[] {
  const documents = data.heldOutStream(spec.seed ^ 0x5eed);
  if (!documents) return [];
  const batcher = makeBatcher(spec, registry, tokenizer, documents, spec.seed ^ 0x5eed);
  return Array.from({ length: spec.train.evalBatches }, () => batcher.next());
}

/** The newest intact checkpoint to resume from; a fresh run refuses a directory that already holds checkpoints. */
async function resumePoint(outDir: string, resume: boolean): Promise<{ path: string; checkpoint: DecodedCheckpoint } | null> {
  if (resume) {
    const latest = await latestCheckpoint(outDir);
    if (!latest) throw new Error(`cannot resume: ${outDir} holds no intact checkpoint`);
    return latest;
  }
  if ((await listCheckpoints(outDir)).length > 0)
    throw new Error(`${outDir} already holds checkpoints of a run; resume it (--resume) or choose another output directory`);
  return null;
}

/**
 * The run's tokenizer and text: a prepared dataset brings its own tokenizer (stored in the checkpoints) and streams
 * its shards; otherwise the corpus (or the data passed in) is read into memory with the byte tokenizer.
 */
async function trainingData(options: RunOptions): Promise<{ tokenizer: Tokenizer; prepared: PreparedData | null; data: TrainingData }> {
  const { spec, registry } = options;
  const shardData = spec.data.shards
    ? await prepareShardData(spec.data.shards, spec.data.heldOutFraction, objectiveSpecialTokens([spec.objective], registry), spec.data.shardWindowBytes)
    : null;
  const tokenizer = shardData?.tokenizer ?? options.tokenizer ?? tokenizerFor(spec, registry);
  const prepared = options.data ?? (shardData ? null : await prepareData(spec.data.corpus, spec.data.heldOutFraction, tokenizer, spec.data.maxDocumentBytes));
  return { tokenizer, prepared, data: prepared ? inMemoryData(prepared) : shardData! };
}

function learningRateSchedule(spec: TrainingSpec) {
  const t = spec.train;
  return { kind: t.schedule, maxLr: t.lr, minLr: t.minLr, warmupSteps: t.warmupSteps, totalSteps: t.steps, decayFraction: t.decayFraction };
}

/**
 * Train a spec to completion (or to stopAtStep), evaluating on held-out text and writing checkpoints atomically.
 * A fresh run refuses an outDir that already holds checkpoints, so nothing written before is overwritten.
 */
export async function runTraining(options: RunOptions): Promise<RunResult> {
  const { spec, outDir, registry, onEvent = () => {} } = options;
  validateSpecPlugins(spec, registry);
  const resumeFrom = await resumePoint(outDir, options.resume ?? false);
  // The checkpoint stores the spec it was trained by; resuming it in other numerics would quietly change the run.
  // A checkpoint from before spec.precision existed was trained in f32.
  const trained = (resumeFrom?.checkpoint.state as { spec?: { precision?: string } } | undefined)?.spec?.precision ?? 'f32';
  if (resumeFrom && trained !== spec.precision)
    throw new SpecError('spec.precision', `${resumeFrom.path} was trained with precision "${trained}"; a resume continues in it (set precision "${trained}")`);
  const { tokenizer, prepared, data } = await trainingData(options);
  const backend = options.backend ?? (await createBackend(spec.backend, spec.precision));
  const model = buildModel(spec, registry, backend, tokenizer.vocabSize);
  const t = spec.train;
  const optimizer = new AdamW(backend, model.params, { beta1: t.beta1, beta2: t.beta2, eps: t.eps, weightDecay: t.weightDecay, clipNorm: t.clipNorm });
  const batcher = makeBatcher(spec, registry, tokenizer, data.trainStream(spec.seed), spec.seed);
  const trainer = new Trainer(backend, model, optimizer, batcher, learningRateSchedule(spec), t.gradAccum);
  if (resumeFrom) {
    restoreTensors(backend, resumeFrom.checkpoint, model.params, optimizer, `checkpoint ${resumeFrom.path}`);
    const state = resumeFrom.checkpoint.state as unknown as { step: number; batcher: unknown };
    batcher.restore(state.batcher);
    trainer.step = state.step;
  } else if (options.initFrom) {
    restoreTensors(backend, await readCheckpoint(options.initFrom), model.params, null, `checkpoint ${options.initFrom}`);
  }
  const evalBatches = heldOutBatches(spec, registry, tokenizer, data);
  const flopsPerStep = estimateStepFlops(spec, registry, tokenizer.vocabSize);

  onEvent({
    type: 'start',
    parameters: parameterCount(model.params),
    vocabSize: tokenizer.vocabSize,
    trainTokens: data.trainTokens,
    heldOutTokens: data.heldOutTokens,
    unigramEntropy: data.unigramEntropy,
    dropped: prepared?.dropped ?? {},
    problems: prepared?.problems ?? [],
    startStep: trainer.step,
    resumedFrom: resumeFrom?.path ?? null,
    flopsPerStep,
    rows: rowShape(spec, registry),
  });

  const save = async (): Promise<string> => {
    const bytes = await encodeCheckpoint(backend, model.params, optimizer, {
      step: trainer.step,
      batcher: batcher.state(),
      spec,
      model: { architecture: model.architecture, config: model.config },
      tokenizer: tokenizer.toJSON(),
    });
    const path = await saveCheckpoint(outDir, trainer.step, bytes);
    onEvent({ type: 'checkpoint', step: trainer.step, path });
    return path;
  };

  const losses: number[] = [];
  let heldOutLoss = NaN;
  let lastCheckpoint: string | null = resumeFrom?.path ?? null;
  const stopAt = Math.min(t.steps, options.stopAtStep ?? t.steps);
  while (trainer.step < stopAt) {
    if (options.signal) {
      await yieldToEventLoop();
      if (options.signal.aborted) break;
    }
    const result = await trainer.trainStep();
    await checkFiniteStep(trainer, result, t.lr);
    losses.push(result.loss);
    const { applied: _applied, ...figures } = result;
    onEvent({ type: 'step', ...figures });
    if (t.evalEvery > 0 && trainer.step % t.evalEvery === 0 && evalBatches.length > 0) {
      heldOutLoss = await trainer.evaluate(evalBatches);
      onEvent({ type: 'eval', step: trainer.step, heldOutLoss });
    }
    if (t.checkpointEvery > 0 && trainer.step % t.checkpointEvery === 0) lastCheckpoint = await save();
  }
  if (evalBatches.length > 0 && (t.evalEvery === 0 || trainer.step % t.evalEvery !== 0)) {
    heldOutLoss = await trainer.evaluate(evalBatches);
    onEvent({ type: 'eval', step: trainer.step, heldOutLoss });
  }
  if (lastCheckpoint === null || !lastCheckpoint.endsWith(`step-${String(trainer.step).padStart(8, '0')}.safetensors`))
    lastCheckpoint = await save();
  const flops = flopsPerStep === null ? null : flopsPerStep * trainer.step;
  const dispose = () => {
    optimizer.dispose();
    disposeParameters(backend, model.params);
  };
  return { step: trainer.step, losses, heldOutLoss, unigramEntropy: data.unigramEntropy, flops, checkpoint: lastCheckpoint, model, tokenizer, backend, dispose };
}
