import { encodeCheckpoint, restoreTensors, type Backend, type DecodedCheckpoint, type Parameter, type PluginRegistry } from '@unilab/core';
import { saveCheckpoint, type LoadedModel } from '@unilab/runner';
import { headParameters } from '../../finetune/classifier.ts';
import { prepareDpo } from '../dpo.ts';
import { createRewardModel, pairwiseAccuracy, rewardModelRun } from '../reward-model.ts';
import { responseNll, sftRun } from '../sft.ts';
import type { RunPosition, StepFigures, StepwiseRun } from '../stepwise-run.ts';
import type { InstructionExample, InstructionTask } from '../instruction-task.ts';
import { referenceVerifier } from '../response-scorer.ts';
import { verifierSuccess } from '../verifier-success.ts';
import type { AlignmentJobSpec, AlignmentStageKind, AlignmentStagePlan, StageKindOptions } from './align-job-spec.ts';
import type { AlignmentDataSet } from './align-job-data.ts';
import { loadStageModel, type StageModel } from './stage-model.ts';

/**
 * The stage kinds of an alignment job, each a plain object that prepares its stage: the model it starts from (the
 * policy of the stage before, or the job's base), a step-wise run, what its checkpoints hold and its held-out figures
 * (the values its gate may check). The job runner (align-job.ts) drives any of them the same way.
 */
export interface StageContext<K extends AlignmentStageKind = AlignmentStageKind> {
  plan: AlignmentStagePlan<K>;
  registry: PluginRegistry;
  backend?: Backend;
  /** The checkpoint of the policy the stage starts from: the last policy stage's, or the job's base. */
  policy: string;
  /** The reward model's checkpoint, once an rm stage has run. */
  reward: string | null;
  data: AlignmentDataSet;
  /** The attempt's seed (a retry derives a new one). */
  seed: number;
  evaluation: AlignmentJobSpec['evaluation'];
}

/** What the job runner drives of a stage's run: its steps; checkpoints go through the stage's save and resume. */
export type StageRun = Pick<StepwiseRun<StepFigures>, 'totalSteps' | 'step' | 'stoppedEarly' | 'next' | 'dispose'>;

export interface PreparedStage {
  /** Its steps' figures: loss and lr, and the stage's own (DPO: preference accuracy and margin; PPO: reward, KL...). */
  run: StageRun;
  /** Every parameter of the model it trains (heads included): the count its start event reports. */
  params: Parameter[];
  /** Write a checkpoint of the stage as it stands into `dir` (atomically); returns its path. */
  save(dir: string): Promise<string>;
  /** Put the stage back where a checkpoint `save` wrote left it. */
  resume(checkpoint: { path: string; checkpoint: DecodedCheckpoint }): Promise<void>;
  /** A policy (its checkpoints are models completions serve) or a reward model. */
  policy: boolean;
  trained: number;
  examples: { train: number; heldOut: number };
  /** Held-out figures at the end of the stage, the gate's metrics among them. */
  evaluate(): Promise<Record<string, number>>;
}

export interface AlignmentStage<K extends AlignmentStageKind = AlignmentStageKind> {
  kind: K;
  prepare(ctx: StageContext<K>): Promise<PreparedStage>;
}

/** Parameter count of a list of parameters. */
export const parameterCount = (params: readonly Parameter[]) => params.reduce((n, p) => n + p.value.shape.reduce((a, b) => a * b, 1), 0);

/**
 * Checkpoints of a step-wise run: every parameter in `params` with the AdamW moments of those it trains, the header
 * (spec, tokenizer, tuning: what loadModel needs) and the run's position; the newest three are kept.
 */
export function stepwiseCheckpoints(backend: Backend, params: readonly Parameter[], run: StepwiseRun, header: Record<string, unknown>): Pick<PreparedStage, 'save' | 'resume'> {
  return {
    async save(dir) {
      return saveCheckpoint(dir, run.step, await encodeCheckpoint(backend, params, run.optimizer, { step: run.step, ...header, position: run.position() }));
    },
    async resume({ path, checkpoint }) {
      restoreTensors(backend, checkpoint, params, run.optimizer, `checkpoint ${path}`);
      run.restore((checkpoint.state as unknown as { position: RunPosition }).position);
    },
  };
}

/** The header every policy checkpoint carries, so `loadModel` (completions, `unilab generate`) rebuilds it. */
export function policyHeader(m: StageModel, stage: string): Record<string, unknown> {
  const { loaded } = m;
  return {
    spec: loaded.spec,
    model: { architecture: loaded.model.architecture, config: loaded.model.config },
    tokenizer: loaded.tokenizer.toJSON(),
    ...(m.tuning && { tuning: m.tuning }),
    aligned: { stage },
  };
}

/**
 * Share of held-out prompts whose greedy answer passes the verifier, over the first `verifierExamples` of each task:
 * a generated set's tasks carry their verifiers; a user's demonstrations are their own (referenceVerifier: a response
 * passes when it is the demonstrated one, case and surrounding white space ignored), grouped by their `task` field.
 * Every stage's `verifierSuccess` (its figure and its gate) is this one measure.
 */
export async function heldOutVerifierSuccess(loaded: LoadedModel, data: AlignmentDataSet, evaluation: AlignmentJobSpec['evaluation']): Promise<Record<string, number>> {
  let correct = 0;
  let n = 0;
  for (const { task, examples } of verifierTasks(data)) {
    const r = await verifierSuccess(loaded, task, examples.slice(0, evaluation.verifierExamples), evaluation.maxTokens);
    correct += r.correct;
    n += r.n;
  }
  return n > 0 ? { verifierSuccess: correct / n } : {};
}

function verifierTasks(data: AlignmentDataSet): { task: InstructionTask; examples: InstructionExample[] }[] {
  if (data.tasks) return data.tasks.map((task) => ({ task, examples: task.heldOut }));
  if (!data.demonstrations) return [];
  const { train, heldOut } = data.demonstrations;
  const reference = referenceVerifier([...train, ...heldOut]);
  const verify = (prompt: string, response: string) => reference(prompt, response) === true;
  const byTask = new Map<string, InstructionExample[]>();
  for (const d of heldOut) byTask.set(d.task ?? 'demonstrations', [...(byTask.get(d.task ?? 'demonstrations') ?? []), { task: d.task ?? 'demonstrations', prompt: d.prompt, response: d.response, wrong: '' }]);
  return [...byTask].map(([name, examples]) => ({ task: { name, description: 'the held-out demonstrations\' answers', train: [], heldOut: examples, verify }, examples }));
}

/** The reward model's head in checkpoints (aligned-checkpoint.ts names it so, beside the network's own `head`). */
export const REWARD_HEAD = 'reward_head';

function need<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`the alignment data has no ${what}`);
  return value;
}

export const sftStage: AlignmentStage<'sft'> = {
  kind: 'sft',
  async prepare(ctx) {
    const o: StageKindOptions['sft'] = ctx.plan.options;
    const demos = need(ctx.data.demonstrations, 'demonstrations');
    const m = await loadStageModel(ctx.policy, ctx.registry, ctx.plan.tuning, ctx.seed, ctx.backend);
    noExtra(m, ctx.policy);
    const run = sftRun(m.loaded, m.trained, demos.train, { ...o, seed: ctx.seed });
    const params = [...m.loaded.model.params];
    return {
      run,
      params,
      ...stepwiseCheckpoints(m.loaded.backend, params, run, policyHeader(m, 'sft')),
      policy: true,
      trained: parameterCount(m.trained),
      examples: { train: demos.train.length, heldOut: demos.heldOut.length },
      evaluate: async () => ({ heldOutNll: await responseNll(m.loaded, demos.heldOut), ...(await heldOutVerifierSuccess(m.loaded, ctx.data, ctx.evaluation)) }),
    };
  },
};

/** InstructGPT's reward model starts from the SFT model (Ouyang et al. 2022 §3.5) with a new scalar head. */
export const rewardStage: AlignmentStage<'rm'> = {
  kind: 'rm',
  async prepare(ctx) {
    const o: StageKindOptions['rm'] = ctx.plan.options;
    const pairs = need(ctx.data.comparisons, 'comparisons');
    const m = await loadStageModel(ctx.policy, ctx.registry, ctx.plan.tuning, ctx.seed, ctx.backend);
    noExtra(m, ctx.policy);
    const { loaded } = m;
    const rm = createRewardModel(loaded, ctx.seed, o.pooling);
    const head = headParameters(rm.head);
    const trained = [...m.trained, ...head];
    const run = rewardModelRun(rm, trained, pairs.train, { ...o, seed: ctx.seed });
    // The head as loadRewardModel (aligned-checkpoint.ts) reads it: `reward_head.*`, with the pooling in the header.
    const params = [...loaded.model.params, ...head.map((p) => ({ ...p, name: p.name.replace(/^head\./, `${REWARD_HEAD}.`) }))];
    return {
      run,
      params,
      ...stepwiseCheckpoints(loaded.backend, params, run, { ...policyHeader(m, 'rm'), reward: { pooling: o.pooling, maxTokens: rm.maxTokens } }),
      policy: false,
      trained: parameterCount(trained),
      examples: { train: pairs.train.length, heldOut: pairs.heldOut.length },
      async evaluate() {
        const { accuracy } = await pairwiseAccuracy(rm, pairs.heldOut);
        return { heldOutAccuracy: accuracy };
      },
    };
  },
};

/** DPO from the SFT model, which is also its frozen reference (Rafailov et al. 2023 §4). */
export const dpoStage: AlignmentStage<'dpo'> = {
  kind: 'dpo',
  async prepare(ctx) {
    const o: StageKindOptions['dpo'] = ctx.plan.options;
    const pairs = need(ctx.data.comparisons, 'comparisons');
    const m = await loadStageModel(ctx.policy, ctx.registry, ctx.plan.tuning, ctx.seed, ctx.backend);
    noExtra(m, ctx.policy);
    // The reference log-probabilities are taken now, from the model as the stage input left it (LoRA's B is zero).
    const dpo = await prepareDpo(m.loaded, m.trained, pairs.train, pairs.heldOut, { ...o, seed: ctx.seed });
    const run = dpo.start();
    const params = [...m.loaded.model.params];
    return {
      run,
      params,
      ...stepwiseCheckpoints(m.loaded.backend, params, run, policyHeader(m, 'dpo')),
      policy: true,
      trained: parameterCount(m.trained),
      examples: { train: pairs.train.length, heldOut: pairs.heldOut.length },
      async evaluate() {
        const f = await dpo.heldOut();
        return { heldOutLoss: f.loss, heldOutAccuracy: f.accuracy, heldOutMargin: f.margin, ...(await heldOutVerifierSuccess(m.loaded, ctx.data, ctx.evaluation)) };
      },
    };
  },
};

function noExtra(m: StageModel, path: string): void {
  if (m.extra.size > 0) throw new Error(`checkpoint ${path} holds ${[...m.extra.keys()].slice(0, 3).join(', ')}, which a policy does not have (a reward model's checkpoint is no policy)`);
}
