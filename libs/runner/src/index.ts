export { parseTrainingSpec, trainingSpecSchema, type TrainingSpec } from './spec.ts';
export { runTraining, buildModel, rowShape, tokenizerFor, validateSpecPlugins, type RunOptions, type RunResult } from './run.ts';
export type { RunEvent, RunInfo } from './run-events.ts';
export { createDefaultRegistry } from './registry.ts';
export { resolveLoraTargets, resolveTuning } from './lora-targets.ts';
export { createBackend, sharedBackends, type BackendChoice, type BackendName } from './backends.ts';
export { loadModel, loadedModel, generate, generationLayout, stopToken, canGenerate, architectureGenerates, GenerationOptionError, type LoadedModel, type GenerateOptions } from './generate.ts';
export { encodePrompt, partsFromMarkedText, promptSpecials, specialTokenList, type Prompt, type PromptPart } from './inference/prompt.ts';
export { modelPresentation, describeLayout, layoutTokenNames, type ModelPresentation, type Presented } from './inference/presentation.ts';
export { continuationRow, TargetTooLongError, type ContinuationRow } from './inference/continuation-row.ts';
export { rowsToBatch, type InferenceRow } from './inference/row-batch.ts';
export { ContextWindow } from './inference/context-window.ts';
export { cachedLogits, fullForwardLogits, type NextTokenLogits } from './inference/next-token-logits.ts';
export { writeFileAtomic, readFileBytes } from './files.ts';
export { checkpointPath, listCheckpoints, latestCheckpoint, readCheckpoint, saveCheckpoint } from './checkpoint-files.ts';
export { prepareData, prepareShardData, inMemoryData, type PreparedData, type TrainingData, type ShardData } from './data.ts';
export { TrainingDivergedError, checkFiniteStep, type DivergencePhase } from './divergence.ts';
export { estimateParameters, estimateStepFlops, estimateTraining } from './estimate.ts';
export { prepareMixture, type MixtureComponent } from './mixture.ts';
export {
  createObjectiveBatcher,
  isObjectiveMixture,
  mixBatchers,
  objectiveComponents,
  objectiveDecoderLength,
  objectiveLabel,
  objectiveSpecSchema,
  objectiveSpecialTokens,
  validateObjective,
  type ObjectiveMixture,
  type ObjectiveMixtureBatcher,
  type ObjectiveMixtureComponent,
  type ObjectiveMixtureState,
  type ObjectiveSpec,
  type SingleObjective,
} from './objective-mixture.ts';
export { mapJobPaths, type JobPath, type JobPathKind } from './job-spec-paths.ts';
export { parseJobSpec, jobStageSchema, validateJobPlugins, jobTokenizer, stageStart, attemptSeed, gateSchemaFor, type Gate, type StagePlan, type JobSpec } from './job-spec.ts';
export type { JobEvent, JobOutcome, JobProgress, CompletedStage } from './job-events.ts';
export { readJobProgress, stageDir } from './job-progress.ts';
export { runStages, gateNext, type RunStagesOptions } from './run-stages.ts';
export { PLUGIN_CONFIG_FILE, createConfiguredRegistry, findPluginConfig, loadConfiguredPlugins, readPluginConfig, type PluginConfig } from './plugin-config.ts';
export { parseExperiment, type Experiment, type ExperimentMatch, type ExperimentObjective, type ExperimentSize, type ExperimentVariant } from './sweep/experiment.ts';
export { expandGrid, type SweepCell, type SweepGrid, type SkippedPair, type GridOptions } from './sweep/grid.ts';
export { matchModel, measure, type MatchedModel, type MatchMetric } from './sweep/matching.ts';
export { MANIFEST_FILE, readManifest, writeManifest, type CellRecord, type CellStatus, type SweepManifest } from './sweep/manifest.ts';
export { runSweep, cellDir, type CellEvaluator, type CellOutcome, type CellProgress, type CellRunner, type RunSweepOptions, type SweepEvent, type SweepResult } from './sweep/run-sweep.ts';
export { inProcessCellRunner } from './sweep/in-process-runner.ts';
export { attentionSpectra, singleExampleBatch, summariseRanks, type AttentionMaskKind, type AttentionRankOptions, type HeadSpectrum } from './analysis/attention-rank.ts';
export { singularValues, numericalRank, effectiveRank } from './analysis/singular-values.ts';
export { recordAttention, type AttentionRecord } from './analysis/attention-records.ts';
export {
  attentionDegeneration,
  promptBatch,
  degenerationPrompts,
  meanDegeneration,
  heldOutDegeneration,
  type HeldOutDegeneration,
  type HeldOutDegenerationOptions,
  type DegenerationModel,
  type DegenerationOptions,
  type LayerDegeneration,
  type PromptDegeneration,
} from './analysis/attention-degeneration.ts';
export { recordingLossCurves, readLossCurve, LOSS_LOG_FILE } from './sweep/loss-log.ts';
export { exportLlama, type HfExport } from './hf/llama-export.ts';
export { importLlama, type HfImport } from './hf/llama-import.ts';
