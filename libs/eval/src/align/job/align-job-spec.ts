import { DEFAULT_LORA_TARGETS, SpecError, arrayOf, boolean, field, integer, number, object, oneOf, optional, string, type Schema } from '@unilab/core';
import { gateSchemaFor } from '@unilab/runner';
import { INSTRUCTION_TASK_NAMES } from '../instruction-tasks.ts';
import type { DpoOptions } from '../dpo.ts';
import { DEFAULT_PREFERENCE_NOISE } from '../preference-pairs.ts';
import type { PpoOptions } from '../ppo.ts';

/**
 * An alignment job (kind "align"): InstructGPT's pipeline (Ouyang et al. 2022 §3.5: SFT, then a reward model, then
 * PPO against it) or DPO after SFT (Rafailov et al. 2023), run as stages on a pre-trained model, each stage with its
 * options, optional LoRA or adapters and an optional gate on its held-out figures (the pre-training stages' gate:
 * continue, retry with a new seed, or stop). Parsed once here; errors name the field from the spec root.
 */
export const ALIGNMENT_STAGE_KINDS = ['sft', 'rm', 'dpo', 'ppo'] as const;
export type AlignmentStageKind = (typeof ALIGNMENT_STAGE_KINDS)[number];

/** The orders stages may run in: every later stage needs what an earlier one made (a policy, a reward model). */
export const ALIGNMENT_PIPELINES: readonly (readonly AlignmentStageKind[])[] = [['sft'], ['sft', 'dpo'], ['sft', 'rm'], ['sft', 'rm', 'ppo']];

const tuningSchema = object({
  /** full: every weight trains; lora: LoRA factors on `targets` (Hu et al. 2021); adapter: Houlsby et al. 2019 bottlenecks. */
  method: field(oneOf(['full', 'lora', 'adapter'] as const), 'full'),
  rank: optional(integer({ min: 1, max: 256 })),
  alpha: optional(number({ greaterThan: 0 })),
  /**
   * Projections by role (query, key, value, output, ffn-gate, ffn-up, ffn-down, cross-query ... cross-output) or by
   * the base architecture's names for them; which exist is the architecture's declaration, checked at admission.
   */
  targets: optional(arrayOf(string({ nonEmpty: true }), { minLength: 1 })),
  size: optional(integer({ min: 1, max: 4096 })),
  norms: optional(boolean()),
});

export interface StageTuning {
  method: 'full' | 'lora' | 'adapter';
  /** targets: roles or projection names as given (default query and value); admission resolves them to the base's names. */
  lora?: { rank: number; alpha: number; targets: string[] };
  adapters?: { size: number; norms: boolean };
}

/**
 * What each stage kind takes: its options (with InstructGPT's or the papers' defaults scaled to tiny models), the
 * metrics its gate may check and which way each passes (`max`: passes when >= threshold; `min`: when <=).
 */
export interface StageKindOptions {
  sft: { lr: number; epochs: number; batchSize: number; weightDecay: number; warmupFraction: number };
  rm: { lr: number; epochs: number; batchSize: number; weightDecay: number; pooling: 'last' | 'mean' };
  dpo: Omit<DpoOptions, 'seed'>;
  /** PPO's own options (ppo.ts) but the seed, which is the stage attempt's (ctx.seed), plus what PPO maximises. */
  ppo: Omit<PpoOptions, 'seed'> & {
    /** What PPO maximises: the reward model's score (InstructGPT) or the verifier's verdict (for comparison). */
    reward: 'reward-model' | 'verifier';
  };
}

const common = {
  tuning: optional(tuningSchema),
};

const lr = (fallback: number) => field(number({ greaterThan: 0, max: 1 }), fallback);
const epochs = (fallback: number) => field(integer({ min: 1, max: 1000 }), fallback);
const batch = (fallback: number) => field(integer({ min: 1, max: 1024 }), fallback);
const weightDecay = field(number({ min: 0, max: 1 }), 0);

export const GATE_METRICS = {
  /** SFT: held-out response NLL (nats per response token); share of held-out prompts the verifiers accept. */
  sft: { heldOutNll: 'min', verifierSuccess: 'max' },
  /** Reward model: share of held-out comparisons it ranks as labelled. */
  rm: { heldOutAccuracy: 'max' },
  /** DPO: held-out DPO loss, preference accuracy and implicit reward margin of the policy; verifier success. */
  dpo: { heldOutLoss: 'min', heldOutAccuracy: 'max', heldOutMargin: 'max', verifierSuccess: 'max' },
  /** PPO: the policy's mean KL to the SFT model and its reward on held-out prompts; verifier success. */
  ppo: { kl: 'min', reward: 'max', verifierSuccess: 'max' },
} as const satisfies Record<AlignmentStageKind, Record<string, 'min' | 'max'>>;

export type GateDirection = 'min' | 'max';

const gateFor = <K extends AlignmentStageKind>(kind: K) => optional(gateSchemaFor(Object.keys(GATE_METRICS[kind]) as (keyof (typeof GATE_METRICS)[K] & string)[]));

const STAGE_SCHEMAS = {
  sft: object({ kind: field(oneOf(['sft'] as const)), lr: lr(1e-3), epochs: epochs(2), batchSize: batch(16), weightDecay, warmupFraction: field(number({ min: 0, max: 1 }), 0.1), ...common, gate: gateFor('sft') }),
  rm: object({ kind: field(oneOf(['rm'] as const)), lr: lr(1e-3), epochs: epochs(2), batchSize: batch(8), weightDecay, pooling: field(oneOf(['last', 'mean'] as const), 'last'), ...common, gate: gateFor('rm') }),
  /** PPO's options are ppo.ts's (InstructGPT / Ziegler et al. 2019 defaults); one job step is one iteration. */
  ppo: object({
    kind: field(oneOf(['ppo'] as const)),
    iterations: field(integer({ min: 1, max: 100_000 }), 20),
    rolloutsPerIteration: field(integer({ min: 1, max: 4096 }), 32),
    maxTokens: field(integer({ min: 1, max: 256 }), 12),
    epochs: epochs(2),
    minibatchSize: batch(8),
    lr: lr(1e-4),
    weightDecay,
    clip: field(number({ greaterThan: 0, max: 1 }), 0.2),
    valueClip: field(number({ greaterThan: 0 }), 0.2),
    valueCoef: field(number({ greaterThan: 0 }), 0.1),
    gamma: field(number({ min: 0, max: 1 }), 1),
    lambda: field(number({ min: 0, max: 1 }), 0.95),
    kl: field(
      object({
        kind: field(oneOf(['adaptive', 'fixed'] as const), 'adaptive'),
        beta: field(number({ min: 0, max: 100 }), 0.1),
        target: field(number({ greaterThan: 0 }), 2),
        horizon: field(number({ greaterThan: 0 }), 256),
      }),
      { kind: 'adaptive', beta: 0.1, target: 2, horizon: 256 },
    ),
    klBudget: field(number({ greaterThan: 0 }), 10),
    normalizeReward: field(boolean(), true),
    reward: field(oneOf(['reward-model', 'verifier'] as const), 'reward-model'),
    ...common,
    gate: gateFor('ppo'),
  }),
  dpo: object({ kind: field(oneOf(['dpo'] as const)), beta: field(number({ greaterThan: 0, max: 100 }), 0.1), lr: lr(1e-4), epochs: epochs(1), batchSize: batch(8), weightDecay, ...common, gate: gateFor('dpo') }),
};

export interface AlignmentGate {
  metric: string;
  threshold: number;
  action: 'continue' | 'retry' | 'stop';
  maxRetries: number;
  direction: GateDirection;
}

export interface AlignmentStagePlan<K extends AlignmentStageKind = AlignmentStageKind> {
  index: number;
  kind: K;
  /** The stage's name in events and directories: its kind. */
  name: string;
  options: StageKindOptions[K];
  tuning: StageTuning;
  gate?: AlignmentGate;
}

export interface GeneratedData {
  /** Tasks of `unilab align data` (instruction-tasks.ts). */
  tasks: string[];
  /** Examples per task in each split. */
  train: number;
  heldOut: number;
  /** Share of training comparisons whose label is flipped (held-out comparisons are ranked by the verifier alone). */
  noise: number;
  seed: number;
}

export interface DataFiles {
  /** Demonstrations {"prompt","response"}, as `unilab align data` writes sft-train.jsonl / sft-held-out.jsonl. */
  sft?: { train: string; heldOut: string };
  /** Comparisons {"prompt","chosen","rejected"} (pairs-train.jsonl / pairs-held-out.jsonl). */
  pairs?: { train: string; heldOut: string };
}

export type AlignmentData = { generate: GeneratedData } | { files: DataFiles };

export interface AlignmentJobSpec {
  kind: 'align';
  name: string;
  seed: number;
  /** The pre-trained model: a finished job of this server (resolved to its newest checkpoint at submission) or a checkpoint file. */
  base: { job: string } | { checkpoint: string };
  data: AlignmentData;
  /** Every stage writes a checkpoint (parameters, optimizer moments, position) every this many steps and at its end. */
  checkpointEvery: number;
  /** Verifier success: the first `examples` held-out prompts of each task, answered greedily in at most `maxTokens` tokens. */
  evaluation: { verifierExamples: number; maxTokens: number };
  stages: AlignmentStagePlan[];
  outDir?: string;
}

const dataSchema = object({
  generate: optional(
    object({
      tasks: field(arrayOf(oneOf(INSTRUCTION_TASK_NAMES), { minLength: 1 }), [...INSTRUCTION_TASK_NAMES]),
      // At most what the bundled corpora give every task (Brown's religion passages and distinct words to reverse run out beyond).
      train: field(integer({ min: 1, max: 500 }), 200),
      heldOut: field(integer({ min: 1, max: 100 }), 50),
      noise: field(number({ min: 0, max: 0.49 }), DEFAULT_PREFERENCE_NOISE),
      seed: field(integer({ min: 0, max: 2 ** 31 - 1 }), 1),
    }),
  ),
  files: optional(
    object({
      sft: optional(object({ train: field(string({ nonEmpty: true })), heldOut: field(string({ nonEmpty: true })) })),
      pairs: optional(object({ train: field(string({ nonEmpty: true })), heldOut: field(string({ nonEmpty: true })) })),
    }),
  ),
});

const topSchema = object({
  kind: field(oneOf(['align'] as const)),
  name: field(string({ nonEmpty: true }), 'align'),
  seed: field(integer({ min: 0, max: 2 ** 31 - 1 }), 1),
  base: field(object({ job: optional(string({ nonEmpty: true })), checkpoint: optional(string({ nonEmpty: true })) })),
  data: field(dataSchema),
  checkpointEvery: field(integer({ min: 1, max: 1_000_000 }), 10),
  evaluation: field(object({ verifierExamples: field(integer({ min: 1, max: 500 }), 4), maxTokens: field(integer({ min: 1, max: 256 }), 16) }), { verifierExamples: 4, maxTokens: 16 }),
  stages: field(arrayOf({ describe: 'a stage { kind: sft | rm | dpo | ppo, ... }', parse: (v) => v } as Schema<unknown>, { minLength: 1 })),
  outDir: optional(string({ nonEmpty: true })),
});

const stageSchemas = STAGE_SCHEMAS as unknown as Record<AlignmentStageKind, Schema<Record<string, unknown>>>;

/** Whether a raw spec asks for an alignment job (`kind: "align"`); any other spec is a pre-training job's. */
export function isAlignmentSpec(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as { kind?: unknown }).kind === 'align';
}

export function parseAlignmentJobSpec(value: unknown): AlignmentJobSpec {
  const top = topSchema.parse(value, 'spec');
  if ((top.base.job === undefined) === (top.base.checkpoint === undefined))
    throw new SpecError('spec.base', 'expected exactly one of { "job": "<id of a finished job>" } or { "checkpoint": "<path inside the data directory>" }');
  const hasGenerated = top.data.generate !== undefined;
  if (hasGenerated === (top.data.files !== undefined))
    throw new SpecError('spec.data', 'expected exactly one of "generate" (tasks, train, heldOut, noise, seed: the set `unilab align data` builds) or "files" (your JSONL files)');
  const rawStages = top.stages as unknown[];
  checkOrder(rawStages.map((raw, index) => stageKind(raw, index)));
  const stages = rawStages.map((raw, index) => parseStage(raw, index));
  const files = top.data.files;
  for (const s of stages) {
    if (!files) break;
    const needs = s.kind === 'sft' || s.kind === 'ppo' ? 'sft' : 'pairs';
    if (!files[needs])
      throw new SpecError(
        `spec.data.files.${needs}`,
        `missing; the ${s.kind} stage (spec.stages[${s.index}]) trains on ${needs === 'sft' ? 'demonstrations {"prompt","response"} (or their prompts)' : 'comparisons {"prompt","chosen","rejected"}'}: give { "train": "<file>", "heldOut": "<file>" }`,
      );
  }
  // Adapters stay in the model a stage hands on (they cannot be merged), and every later stage descends from the
  // first one's model (rm and dpo from SFT's, PPO's value model from the reward model's): one stage may insert them.
  const adapterStages = stages.filter((s) => s.tuning.method === 'adapter');
  if (adapterStages.length > 1)
    throw new SpecError(
      `spec.stages[${adapterStages[1].index}].tuning.method`,
      `adapters are inserted once in a pipeline (spec.stages[${adapterStages[0].index}] does) and stay in every model after it; a later stage trains them with "full" or adds "lora"`,
    );
  const data: AlignmentData = hasGenerated ? { generate: { ...top.data.generate!, tasks: [...top.data.generate!.tasks] } } : { files: top.data.files! };
  return {
    kind: 'align',
    name: top.name,
    seed: top.seed,
    base: top.base.job !== undefined ? { job: top.base.job } : { checkpoint: top.base.checkpoint! },
    data,
    checkpointEvery: top.checkpointEvery,
    evaluation: top.evaluation,
    stages,
    ...(top.outDir !== undefined && { outDir: top.outDir }),
  };
}

function stageKind(raw: unknown, index: number): AlignmentStageKind {
  const path = `spec.stages[${index}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SpecError(path, `expected an object { "kind": ${ALIGNMENT_STAGE_KINDS.map((k) => `"${k}"`).join(' | ')}, ... }`);
  const kind = (raw as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !(ALIGNMENT_STAGE_KINDS as readonly string[]).includes(kind))
    throw new SpecError(`${path}.kind`, `expected one of ${ALIGNMENT_STAGE_KINDS.map((k) => `"${k}"`).join(', ')}, got ${JSON.stringify(kind) ?? 'nothing'}`);
  return kind as AlignmentStageKind;
}

function parseStage(raw: unknown, index: number): AlignmentStagePlan {
  const path = `spec.stages[${index}]`;
  const kind = stageKind(raw, index);
  const schema = stageSchemas[kind];
  const { kind: _kind, tuning, gate, ...options } = schema.parse(raw, path) as Record<string, any>;
  const directions = GATE_METRICS[kind] as Record<string, GateDirection>;
  if (kind === 'ppo' && options.kl.kind === 'fixed') options.kl = { kind: 'fixed', beta: options.kl.beta };
  if (kind === 'ppo' && options.kl.kind === 'adaptive' && options.kl.beta === 0)
    throw new SpecError(`${path}.kl.beta`, 'an adaptive KL controller scales beta multiplicatively, so it cannot start from 0; use kind "fixed" for no penalty');
  return {
    index,
    kind: kind as AlignmentStageKind,
    name: kind,
    options: options as StageKindOptions[AlignmentStageKind],
    tuning: parseTuning(tuning, `${path}.tuning`),
    ...(gate && { gate: { ...gate, direction: directions[gate.metric] } }),
  };
}

function parseTuning(t: { method: 'full' | 'lora' | 'adapter'; rank?: number; alpha?: number; targets?: string[]; size?: number; norms?: boolean } | undefined, path: string): StageTuning {
  if (!t || t.method === 'full') {
    const stray = t && (['rank', 'alpha', 'targets', 'size', 'norms'] as const).find((k) => t[k] !== undefined);
    if (stray) throw new SpecError(`${path}.${stray}`, `only with method "${stray === 'size' || stray === 'norms' ? 'adapter' : 'lora'}"; method "full" trains every weight`);
    return { method: 'full' };
  }
  if (t.method === 'lora') {
    const stray = (['size', 'norms'] as const).find((k) => t[k] !== undefined);
    if (stray) throw new SpecError(`${path}.${stray}`, 'only with method "adapter"');
    const rank = t.rank ?? 8;
    return { method: 'lora', lora: { rank, alpha: t.alpha ?? 2 * rank, targets: t.targets ?? [...DEFAULT_LORA_TARGETS] } };
  }
  const stray = (['rank', 'alpha', 'targets'] as const).find((k) => t[k] !== undefined);
  if (stray) throw new SpecError(`${path}.${stray}`, 'only with method "lora"');
  return { method: 'adapter', adapters: { size: t.size ?? 16, norms: t.norms ?? true } };
}

function checkOrder(order: readonly AlignmentStageKind[]): void {
  if (ALIGNMENT_PIPELINES.some((p) => p.length === order.length && p.every((k, i) => k === order[i]))) return;
  const allowed = ALIGNMENT_PIPELINES.map((p) => p.join(' → ')).join('; ');
  const why =
    order[0] !== 'sft'
      ? 'every pipeline starts with sft (the policy every later stage starts from)'
      : order.includes('ppo') && order.indexOf('rm') !== order.indexOf('ppo') - 1
        ? 'ppo needs a reward model: an rm stage right before it'
        : 'each stage kind runs once, in one of the orders below';
  throw new SpecError('spec.stages', `stages ${order.join(' → ')}: ${why}; allowed: ${allowed}`);
}
