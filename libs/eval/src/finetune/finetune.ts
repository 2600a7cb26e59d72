import { AdamW, Rng, Tape, learningRate, parameterCount, type Parameter, type PluginRegistry, type ScheduleConfig, type TuningModules } from '@unilab/core';
import type { BackendName } from '@unilab/runner';
import type { LabelledExample, LabelledTask } from '../tasks/labelled-task.ts';
import {
  classificationBatch,
  classificationLoss,
  classifierLogits,
  createClassificationHead,
  encodeForClassification,
  headParameters,
  inputReading,
  type ClassificationHead,
  type Pooling,
} from './classifier.ts';
import { DEFAULT_METHOD_OPTIONS, methodPlan, type FinetuneMethod, type MethodOptions } from './methods.ts';
import { loadPretrained, type Pretrained } from './pretrained.ts';
import { wilsonInterval } from '../stats/proportion.ts';
import { backwardLoss, clippedUpdate } from './training-step.ts';

export interface FinetuneOptions extends MethodOptions {
  /**
   * Peak learning rate per method: the few new weights of LoRA and adapters take a larger one than full fine-tuning,
   * which moves every pre-trained weight (defaults from a short sweep on brown-genre, docs/FINETUNING.md).
   */
  lr: Record<FinetuneMethod, number>;
  epochs: number;
  batchSize: number;
  /** Inputs are cut to this many tokens (eos included); default: the context the model was pre-trained with. */
  maxTokens?: number;
  /** How the head reads the hidden states (classifier.ts). */
  pooling: Pooling;
  weightDecay: number;
  /** Linear warmup over this fraction of the steps, then cosine decay to a tenth of the peak. */
  warmupFraction: number;
  backend?: BackendName;
  /** What a refused LoRA target is called in the error (the CLI's "--lora-targets"); default "loraTargets". */
  loraTargetsField?: string;
}

export const DEFAULT_FINETUNE_OPTIONS: FinetuneOptions = {
  ...DEFAULT_METHOD_OPTIONS,
  lr: { full: 3e-4, lora: 2e-3, adapter: 2e-3 },
  epochs: 3,
  batchSize: 16,
  pooling: 'mean',
  weightDecay: 0.01,
  warmupFraction: 0.1,
};

export interface FinetuneResult {
  task: string;
  method: FinetuneMethod;
  /** Parameters updated by the optimizer (the head included), and every parameter of the tuned model. */
  trainableParams: number;
  totalParams: number;
  /** Parameters of the pre-trained network alone. */
  baseParams: number;
  correct: number;
  n: number;
  accuracy: number;
  ci95: { low: number; high: number };
  chance: number;
  steps: number;
  /** Seconds spent in the training steps (forward, backward, update), evaluation excluded. */
  trainSeconds: number;
  /** Mean training loss over the last epoch. */
  finalLoss: number;
}

/** A fine-tuned classifier in memory: the model (with its modules), the head, and what was trained. */
export interface TunedClassifier {
  pretrained: Pretrained;
  head: ClassificationHead;
  method: FinetuneMethod;
  /** The modules the method added (absent for full fine-tuning). */
  tuning?: TuningModules;
  labels: readonly string[];
  /** The parameters the optimizer updated, the head's included. */
  trained: Parameter[];
  maxTokens: number;
  pooling: Pooling;
}

export interface FinetuneEvents {
  onStep?(step: number, totalSteps: number, loss: number): void;
}

/**
 * One fine-tuning run, prepared: the classifier (the pre-trained model with the method's modules and a new head), the
 * optimizer over the trained tensors alone, the encoded training inputs and the schedule. `trainStep` takes the
 * training examples of one batch by index, so a benchmark can give several runs the same batches in turn.
 */
export interface FinetuneRun {
  classifier: TunedClassifier;
  /** Steps of the whole run (epochs × batches per epoch). */
  totalSteps: number;
  /** One update on the training examples at these indices; returns the batch's mean loss. */
  trainStep(rows: readonly number[]): Promise<number>;
  /** The training examples' indices of each step, epoch after epoch, shuffled by the run's seed. */
  batches(): number[][];
  /** Release the optimizer's moments. */
  dispose(): void;
}

export async function prepareFinetune(
  checkpoint: string,
  registry: PluginRegistry,
  task: LabelledTask,
  method: FinetuneMethod,
  options: FinetuneOptions = DEFAULT_FINETUNE_OPTIONS,
): Promise<FinetuneRun> {
  if (task.train.length === 0 || task.test.length === 0) throw new Error(`task ${task.name}: fine-tuning needs train and test examples`);
  const plan = methodPlan(method, options);
  const pretrained = await loadPretrained(checkpoint, registry, { tuning: plan.tuning, backend: options.backend, loraTargetsField: options.loraTargetsField });
  const { model, backend, tokenizer } = pretrained;
  const rng = new Rng(options.seed);
  const head = createClassificationHead(backend, rng.fork(), model, task.labels.length, 'fine-tuning');
  const trained = [...model.params.filter(plan.trains), ...headParameters(head)];
  const classifier: TunedClassifier = {
    pretrained,
    head,
    method,
    ...(pretrained.tuning && { tuning: pretrained.tuning }),
    labels: task.labels,
    trained,
    maxTokens: options.maxTokens ?? pretrained.spec.train.seqLen,
    pooling: options.pooling,
  };
  const optimizer = new AdamW(backend, trained, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: options.weightDecay, clipNorm: 1 });
  const trainable = new Set(trained);
  const reading = inputReading(pretrained.reads);
  const inputs = encodeForClassification(tokenizer, task.train.map((e) => e.text), classifier.maxTokens);
  const stepsPerEpoch = Math.ceil(task.train.length / options.batchSize);
  const totalSteps = stepsPerEpoch * options.epochs;
  const schedule: ScheduleConfig = {
    kind: 'cosine',
    maxLr: options.lr[method],
    minLr: options.lr[method] / 10,
    warmupSteps: Math.round(options.warmupFraction * totalSteps),
    totalSteps,
    decayFraction: 0,
  };
  const order = rng.fork();
  let step = 0;
  return {
    classifier,
    totalSteps,
    batches() {
      const out: number[][] = [];
      for (let epoch = 0; epoch < options.epochs; epoch++) {
        const shuffled = order.shuffle(Array.from(inputs.keys()));
        for (let s = 0; s < stepsPerEpoch; s++) out.push(shuffled.slice(s * options.batchSize, (s + 1) * options.batchSize));
      }
      return out;
    },
    async trainStep(rows) {
      const batch = classificationBatch(reading, options.pooling, rows.map((i) => inputs[i]), rows.map((i) => task.train[i].label), tokenizer.specialTokens.pad ?? 0);
      const loss = await backwardLoss(backend, trainable, (tape) => classificationLoss(tape, classifierLogits(tape, model, head, batch), batch.labels));
      await clippedUpdate(backend, optimizer, { name: `fine-tuning (${method})`, step: step + 1, lr: learningRate(step, schedule), maxLr: schedule.maxLr, loss });
      step++;
      return loss;
    },
    dispose: () => optimizer.dispose(),
  };
}

/**
 * Fine-tune a pre-trained checkpoint on a labelled task with one method and measure test accuracy. The optimizer
 * holds only the trained parameters (no AdamW moments, no weight decay for frozen ones) and the tape differentiates
 * only them, so no gradient is computed for a frozen weight that nothing trainable lies below.
 */
export async function finetune(
  checkpoint: string,
  registry: PluginRegistry,
  task: LabelledTask,
  method: FinetuneMethod,
  options: FinetuneOptions = DEFAULT_FINETUNE_OPTIONS,
  events: FinetuneEvents = {},
): Promise<{ result: FinetuneResult; classifier: TunedClassifier }> {
  const run = await prepareFinetune(checkpoint, registry, task, method, options);
  const { classifier, totalSteps } = run;
  const stepsPerEpoch = totalSteps / options.epochs;
  let trainSeconds = 0;
  let lastEpochLoss = 0;
  try {
    for (const [i, rows] of run.batches().entries()) {
      if (i % stepsPerEpoch === 0) lastEpochLoss = 0;
      const started = performance.now();
      const loss = await run.trainStep(rows);
      trainSeconds += (performance.now() - started) / 1000;
      lastEpochLoss += loss / stepsPerEpoch;
      events.onStep?.(i + 1, totalSteps, loss);
    }
  } finally {
    run.dispose();
  }
  const { model } = classifier.pretrained;
  const { head, trained, pretrained } = classifier;
  const predictions = await classify(classifier, task.test);
  const correct = predictions.filter((p, i) => p === task.test[i].label).length;
  const n = task.test.length;
  const [low, high] = wilsonInterval(correct, n);
  const result: FinetuneResult = {
    task: task.name,
    method,
    trainableParams: parameterCount(trained),
    totalParams: parameterCount(model.params) + parameterCount(headParameters(head)),
    baseParams: parameterCount(pretrained.base),
    correct,
    n,
    accuracy: correct / n,
    ci95: { low, high },
    chance: task.chance,
    steps: totalSteps,
    trainSeconds,
    finalLoss: lastEpochLoss,
  };
  return { result, classifier };
}

/** The predicted label index of each example (argmax of the head's logits), in batches, without recording gradients. */
export async function classify(classifier: TunedClassifier, examples: readonly Pick<LabelledExample, 'text'>[], batchSize = 32): Promise<number[]> {
  const { model, backend, tokenizer } = classifier.pretrained;
  const reading = inputReading(classifier.pretrained.reads);
  const inputs = encodeForClassification(tokenizer, examples.map((e) => e.text), classifier.maxTokens);
  const out: number[] = [];
  for (let start = 0; start < inputs.length; start += batchSize) {
    const rows = inputs.slice(start, start + batchSize);
    const batch = classificationBatch(reading, classifier.pooling, rows, rows.map(() => 0), tokenizer.specialTokens.pad ?? 0);
    const tape = new Tape(backend, false);
    try {
      const logits = await backend.read(classifierLogits(tape, model, classifier.head, batch).value);
      const k = classifier.labels.length;
      for (let r = 0; r < rows.length; r++) {
        let best = 0;
        for (let j = 1; j < k; j++) if (logits[r * k + j] > logits[r * k + best]) best = j;
        out.push(best);
      }
    } finally {
      tape.release();
    }
  }
  return out;
}
