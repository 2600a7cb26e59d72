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
export { ALIGNMENT_STAGES, heldOutVerifierSuccess, parameterCount, policyHeader, type AlignmentStage, type PreparedStage, type StageContext } from './stage-kinds.ts';
export { runAlignmentJob, alignmentStageDir, type AlignmentJobEvent, type AlignmentJobOutcome, type CompletedAlignmentStage, type RunAlignmentJobOptions } from './align-job.ts';
