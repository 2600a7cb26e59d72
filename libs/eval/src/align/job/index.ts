export {
  ALIGNMENT_PIPELINES,
  ALIGNMENT_STAGE_KINDS,
  GATE_METRICS,
  isAlignmentSpec,
  parseAlignmentJobSpec,
  type AlignmentData,
  type AlignmentGate,
  type AlignmentJobSpec,
  type AlignmentStageKind,
  type AlignmentStagePlan,
  type DataFiles,
  type GeneratedData,
  type StageTuning,
} from './align-job-spec.ts';
export { generatedAlignmentData, generatedCounts, loadAlignmentData, type AlignmentDataSet } from './align-job-data.ts';
export { loadStageModel, type StageModel } from './stage-model.ts';
export { heldOutVerifierSuccess, parameterCount, policyHeader, stepwiseCheckpoints, type AlignmentStage, type PreparedStage, type StageContext, type StageRun } from './stage-kinds.ts';
export { ALIGNMENT_STAGES } from './alignment-stages.ts';
export { ppoStage } from './ppo-stage.ts';
export { runAlignmentJob, alignmentStageDir, type AlignmentJobEvent, type AlignmentJobOutcome, type CompletedAlignmentStage, type RunAlignmentJobOptions } from './align-job.ts';
