import { readFile, readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { encodeCheckpoint } from '@unilab/core';
import { saveCheckpoint, writeFileAtomic } from '@unilab/runner';
import { headParameters } from '../../finetune/classifier.ts';
import { loadRewardModel } from '../aligned-checkpoint.ts';
import { heldOutEvaluation } from '../held-out-evaluation.ts';
import { createPpoRun, DEFAULT_PPO_OPTIONS, type PpoIteration, type PpoOptions } from '../ppo.ts';
import { referenceVerifier, rewardModelScorer, verifierScorer } from '../response-scorer.ts';
import type { StepFigures } from '../stepwise-run.ts';
import { createValueModel } from '../value-head.ts';
import type { StageKindOptions } from './align-job-spec.ts';
import { heldOutVerifierSuccess, parameterCount, policyHeader, type AlignmentStage, type StageRun } from './stage-kinds.ts';
import { loadStageModel } from './stage-model.ts';

/**
 * PPO as a job stage (ppo.ts does the algorithm): the policy and the frozen reference are the SFT stage's model, the
 * judge is the rm stage's reward model, and the value model a second copy of the reward model's network and head on
 * the policy's backend (InstructGPT initialises the value function from the reward model). One job step is one PPO
 * iteration. A checkpoint is two files: the run's own state (ppo.ts saveState: trained weights of policy and value
 * model, AdamW moments, RNG, β, the iteration log), written first, then the policy as loadModel reads it; a resume
 * takes the state that belongs to the newest intact policy checkpoint. The KL budget ends the stage early.
 */
const stateFile = (checkpoint: string) => join(dirname(checkpoint), `ppo-state-${basename(checkpoint)}`);

export const ppoStage: AlignmentStage<'ppo'> = {
  kind: 'ppo',
  async prepare(ctx) {
    const o = ctx.plan.options as StageKindOptions['ppo'];
    if (!ctx.reward) throw new Error('the ppo stage needs the reward model of an rm stage before it');
    const demos = ctx.data.demonstrations;
    if (!demos) throw new Error('the ppo stage samples its rollouts for the demonstrations\' prompts; the alignment data has none');
    const { reward, ...ppoOptions } = o;
    const options: PpoOptions = { ...DEFAULT_PPO_OPTIONS, ...ppoOptions, seed: ctx.seed };
    const policy = await loadStageModel(ctx.policy, ctx.registry, ctx.plan.tuning, ctx.seed, ctx.backend);
    const reference = (await loadStageModel(ctx.policy, ctx.registry, { method: 'full' }, ctx.seed)).loaded;
    const { rm } = await loadRewardModel(ctx.reward, ctx.registry);
    const valueNet = await loadStageModel(ctx.reward, ctx.registry, ctx.plan.tuning, ctx.seed, policy.loaded.backend);
    const value = await createValueModel(valueNet.loaded.model, policy.loaded.backend, { head: rm.head, backend: rm.backend }, ctx.seed);
    const verify = referenceVerifier([...demos.train, ...demos.heldOut]);
    const ppo = createPpoRun(
      {
        policy: policy.loaded,
        trained: policy.trained,
        reference,
        value,
        valueTrained: [...valueNet.trained, ...headParameters(value.head)],
        scorer: reward === 'verifier' ? verifierScorer(verify) : rewardModelScorer(rm),
        prompts: demos.train.map((d) => d.prompt),
        verify,
      },
      options,
    );
    const run: StageRun = {
      totalSteps: options.iterations,
      get step() {
        return ppo.iteration;
      },
      get stoppedEarly() {
        return ppo.stopped;
      },
      next: async () => iterationFigures(await ppo.step(), options),
      dispose: () => ppo.dispose(),
    };
    const params = [...policy.loaded.model.params];
    const header = policyHeader(policy, 'ppo');
    const heldOutPrompts = demos.heldOut.map((d) => d.prompt);
    return {
      run,
      params,
      policy: true,
      trained: parameterCount(policy.trained) + parameterCount(valueNet.trained) + parameterCount(headParameters(value.head)),
      examples: { train: demos.train.length, heldOut: demos.heldOut.length },
      async save(dir) {
        const bytes = await encodeCheckpoint(policy.loaded.backend, params, null, { step: ppo.iteration, ...header });
        const state = await ppo.saveState();
        const path = join(dir, 'checkpoints', `step-${String(ppo.iteration).padStart(8, '0')}.safetensors`);
        await writeFileAtomic(stateFile(path), state);
        const saved = await saveCheckpoint(dir, ppo.iteration, bytes);
        // The states of the checkpoints saveCheckpoint dropped go with them.
        const kept = new Set((await readdir(join(dir, 'checkpoints'))).filter((f) => f.startsWith('step-')));
        for (const f of await readdir(join(dir, 'checkpoints')))
          if (f.startsWith('ppo-state-') && !kept.has(f.slice('ppo-state-'.length))) await unlink(join(dir, 'checkpoints', f)).catch(() => {});
        return saved;
      },
      async resume({ path }) {
        const state = stateFile(path);
        ppo.restoreState(new Uint8Array(await readFile(state)), `PPO state ${state}`);
      },
      async evaluate() {
        const f = await heldOutEvaluation(policy.loaded, heldOutPrompts, { verify, rewardModel: rm, reference, maxTokens: options.maxTokens, seed: ctx.seed });
        // verifierSuccess as every stage measures it (stage-kinds.ts), so one gate threshold means the same after SFT, DPO and PPO.
        return { kl: f.kl!.kl, reward: f.reward!.value, ...(await heldOutVerifierSuccess(policy.loaded, ctx.data, ctx.evaluation)) };
      },
    };
  },
};

/** One iteration as a job step: the policy loss as the step's loss, and what InstructGPT's runs log. */
function iterationFigures(it: PpoIteration, options: PpoOptions): StepFigures & Record<string, number | string> {
  return {
    step: it.iteration,
    loss: it.policyLoss,
    lr: options.lr,
    reward: it.reward,
    kl: it.kl,
    beta: it.beta,
    entropy: it.entropy,
    clipFraction: it.clipFraction,
    valueLoss: it.valueLoss,
    approxKl: it.approxKl,
    responseTokens: it.responseTokens,
    ...(it.verifierSuccess !== null && { verifierSuccess: it.verifierSuccess }),
    ...(it.stopped && { stopped: it.stopped }),
  };
}
