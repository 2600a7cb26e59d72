// @unilab/eval: the evaluation suite shared by `unilab eval`, the API's eval jobs and `unilab sweep`.
export {
  scoringModel,
  continuationFormat,
  describeContinuationFormat,
  scoreTargets,
  loglikelihoods,
  type ScoringModel,
  type ContinuationTask,
  type TokenScoringRequest,
  type TargetScore,
  type LoglikelihoodRequest,
} from './scoring.ts';
export { loadScoringModel } from './load-scoring-model.ts';
export { rowLogProbs, type TokenQuery, type TokenLogProb, type RowScoringOptions } from './row-log-probs.ts';
export { bootstrapRatio, bootstrapMean, type Estimate, type BootstrapOptions } from './stats/bootstrap.ts';
