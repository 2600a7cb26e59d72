/**
 * Alignment (issue 15): instruction and preference data with verifiers, SFT, the reward model, PPO and DPO.
 * PPO's public surface: `createPpoRun(parts, options)` returns a step-wise run (`step`, `run`, `history`, `stopped`)
 * whose complete state `saveState` / `restoreState` round-trip bit-identically; its pieces (GAE, the KL controller,
 * the clipped losses, the value model, rollouts, scorers) are exported for callers that assemble their own loop.
 * Checkpoints between stages: `loadAlignedModel` / `saveAlignedModel`, `loadRewardModel` / `saveRewardModel`.
 */
export type { InstructionExample, InstructionTask } from './instruction-task.ts';
export { ANSWER_CUE, instructionPrompt, readPrompt } from './instruction-task.ts';
export { instructionTasks, INSTRUCTION_TASK_NAMES, type InstructionSizes } from './instruction-tasks.ts';
export { preferencePairs, DEFAULT_PREFERENCE_NOISE, type PreferencePair } from './preference-pairs.ts';
export { alignmentJsonl, parseAlignmentJsonl, demonstrations, comparisons, type AlignmentRecord, type Demonstration, type ComparisonRecord } from './alignment-jsonl.ts';
export { responseBatch, type ResponseBatch } from './response-batch.ts';
export { sft, sftRun, responseNll, DEFAULT_SFT_OPTIONS, type SftOptions, type SftEvents } from './sft.ts';
export { prepareDpo, comparisonBatch, comparisonFigures, dpoBackward, DEFAULT_DPO_OPTIONS, type ComparisonBatch, type DpoOptions, type DpoRun, type DpoStep, type DpoEvents, type PreferenceFigures } from './dpo.ts';
export { verifierSuccess, type VerifierSuccess } from './verifier-success.ts';
export { createRewardModel, rewardParameters, rewardScores, pairwiseAccuracy, trainRewardModel, rewardModelRun, DEFAULT_REWARD_OPTIONS, type RewardModel, type RewardOptions } from './reward-model.ts';
export { tokenResponseBatch } from './response-batch.ts';
export { generalizedAdvantages, whiten, type Advantages } from './gae.ts';
export { nextBeta, checkKlControl, type KlControl, type KlControllerState } from './kl-controller.ts';
export { clippedPolicyLoss, clippedValueLoss, type PolicyLoss, type ValueLoss } from './ppo-loss.ts';
export { tokenReading, addLogProbGradient, type TokenReading } from './token-distribution.ts';
export { createValueModel, valueParameters, positionValues, injectGradient, type ValueModel } from './value-head.ts';
export { sampleRollouts, type Rollout } from './rollout.ts';
export { readPolicy, sampledKl, type PolicyReadings } from './policy-readings.ts';
export { rewardModelScorer, verifierScorer, referenceVerifier, type ResponseScorer, type PromptVerifier } from './response-scorer.ts';
export { createPpoRun, ppoBackward, DEFAULT_PPO_OPTIONS, PPO_STATE_FORMAT, type PpoOptions, type PpoIteration, type PpoParts, type PpoEvents, type PpoRun, type PpoMinibatch, type PpoLosses } from './ppo.ts';
export { loadAlignedModel, saveAlignedModel, saveRewardModel, loadRewardModel, copyWeights, type AlignedModel, type LoadAlignedOptions } from './aligned-checkpoint.ts';
export { heldOutEvaluation, pairedWinRate, type HeldOutFigures, type HeldOutOptions, type WinRate } from './held-out-evaluation.ts';
export { ppoCurvesSvg } from './ppo-curves.ts';
export { EpochOrder } from './epoch-order.ts';
export { runToEnd, type StepwiseRun, type StepFigures, type RunPosition } from './stepwise-run.ts';
export * from './job/index.ts';
